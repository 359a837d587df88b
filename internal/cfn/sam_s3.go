package cfn

import "fmt"

// SAM's S3 events, as SAM's translator writes them (tests/translator/output/s3*.json):
// each event adds one LambdaConfiguration per event type to the bucket's
// NotificationConfiguration and a {Fn}{Event}Permission for s3.amazonaws.com
// scoped by SourceAccount (a SourceArn naming the bucket would be a circular
// dependency); the bucket depends on the permission, since S3 checks it when the
// configuration is put.

type s3Event struct {
	fn, event string
	target    string
	bucket    string // the AWS::S3::Bucket's logical id
	events    []any
	filter    any
}

func samS3Event(fn, name string, ep map[string]any) (s3Event, string) {
	e := s3Event{fn: fn, event: name}
	bad := func(format string, args ...any) (s3Event, string) {
		return e, samResourceError(fn, "Event with id [%s] is invalid. ", name) + fmt.Sprintf(format, args...)
	}
	for _, k := range sortedKeys(ep) {
		switch k {
		case "Bucket":
			ref, _ := ep[k].(map[string]any)
			id, _ := ref["Ref"].(string)
			if len(ref) != 1 || id == "" {
				return bad("S3 events must reference an S3 bucket in the same template.")
			}
			e.bucket = id
		case "Events":
			switch x := ep[k].(type) {
			case string:
				e.events = []any{x}
			case []any:
				e.events = x
			default:
				return bad("Property 'Events' should be a string or a list of strings.")
			}
		case "Filter":
			e.filter = ep[k]
		default:
			return bad("property %s not defined for resource of type S3", k)
		}
	}
	if e.bucket == "" || len(e.events) == 0 {
		return bad("Missing required property 'Bucket' or 'Events'.")
	}
	return e, ""
}

func addS3Notifications(t *template, events []s3Event) []string {
	var errs []string
	for _, e := range events {
		b := t.Resources[e.bucket]
		if b == nil || b.Type != "AWS::S3::Bucket" {
			errs = append(errs, samResourceError(e.fn, "Event with id [%s] is invalid. S3 events must reference an S3 bucket in the same template.", e.event))
			continue
		}
		if b.Properties == nil {
			b.Properties = map[string]any{}
		}
		nc, _ := b.Properties["NotificationConfiguration"].(map[string]any)
		if nc == nil {
			nc = map[string]any{}
			b.Properties["NotificationConfiguration"] = nc
		}
		lcs, _ := nc["LambdaConfigurations"].([]any)
		fnArn := any(map[string]any{"Fn::GetAtt": []any{e.fn, "Arn"}})
		permTarget := e.fn
		if e.target != "" {
			fnArn, permTarget = map[string]any{"Ref": e.target}, e.target
		}
		for _, ev := range e.events {
			lc := map[string]any{"Event": ev, "Function": fnArn}
			if e.filter != nil {
				lc["Filter"] = e.filter
			}
			lcs = append(lcs, lc)
		}
		nc["LambdaConfigurations"] = lcs
		perm := e.fn + e.event + "Permission"
		t.Resources[perm] = &resourceDef{Type: "AWS::Lambda::Permission", Properties: map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Ref": permTarget}, "Principal": "s3.amazonaws.com",
			"SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
		}}
		if !contains(b.DependsOn, perm) {
			b.DependsOn = append(b.DependsOn, perm)
		}
	}
	return errs
}
