package cfn

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// fakeAPI stands in for the node's control plane: it holds a set of existing
// resources by path, deletes them on DELETE (404 when absent, as Lambda and S3
// answer) and records every call.
type fakeAPI struct {
	mu     sync.Mutex
	exists map[string]bool
	calls  []string
	// fail, when set, fails the calls whose body contains it with a 400.
	fail string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	if r.Method != http.MethodDelete && len(body) > 0 {
		call += " " + string(body)
	}
	f.calls = append(f.calls, call)
	if f.fail != "" && strings.Contains(string(body), f.fail) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"Type":"User","Message":"refused"}`)
		return
	}
	switch r.Method {
	case http.MethodPost:
		// CreateFunction: the function exists from now on.
		var in struct{ FunctionName string }
		if json.Unmarshal(body, &in) == nil && in.FunctionName != "" && r.URL.Path == "/2015-03-31/functions" {
			f.exists["/2015-03-31/functions/"+in.FunctionName] = true
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:`+in.FunctionName+`"}`)
	case http.MethodDelete:
		if !f.exists[r.URL.Path] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Type":"User","Message":"Not found: `+r.URL.Path+`"}`)
			return
		}
		delete(f.exists, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f"}`)
	}
}

func (f *fakeAPI) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

const testStackID = "arn:aws:cloudformation:us-east-1:123456789012:stack/crash/0b6f1a7e-8a55-4c8e-9a39-1c2d3e4f5a6b"

func fnProps(handler string) map[string]any {
	return map[string]any{"Code": map[string]any{"ZipFile": "exports.a = async () => 1"}, "Handler": handler,
		"Runtime": "nodejs20.x", "Role": "arn:aws:iam::123456789012:role/r"}
}

// putStack stores rec as a node that stopped halfway would have left it.
func putStack(t *testing.T, st store.Store, rec *stackRecord) {
	t.Helper()
	err := st.Update(context.Background(), func(tx store.Tx) error { return store.PutRecord(tx, stackPrefix+rec.StackName, rec) })
	if err != nil {
		t.Fatal(err)
	}
}

// restart starts a service on st as a node does after a restart, and waits
// until the operations it resumed have ended.
func restart(t *testing.T, st store.Store, api http.Handler, alive func(context.Context, string) (bool, error)) {
	t.Helper()
	s := New(Options{Store: st, Region: "us-east-1", AccountID: "123456789012", API: api, AccessKeyID: "AKIDTEST",
		SecretAccessKey: "secret", NodeID: "node-a", NodeAlive: alive})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	if alive != nil {
		// In a cluster Resume keeps looking until the context ends; one pass is
		// what a test needs.
		s.takeOver(ctx)
	} else {
		s.Resume()
	}
	s.Wait()
}

func loadRecord(t *testing.T, st store.Store, key string) *stackRecord {
	t.Helper()
	rec, found, err := store.GetRecord[stackRecord](store.ReaderOf(context.Background(), st), key)
	if err != nil || !found {
		t.Fatalf("record %s: found %v, %v", key, found, err)
	}
	return rec
}

// eventLines renders a stack's events oldest first as "logical status reason".
func eventLines(t *testing.T, st store.Store) []string {
	t.Helper()
	evs, err := store.ListRecords[eventRecord](store.ReaderOf(context.Background(), st), eventPrefix+stackUUID(testStackID)+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, strings.TrimSpace(e.LogicalID+" "+e.Status+" "+e.Reason))
	}
	return out
}

func wantEvents(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const interrupted = "Stack operation interrupted: Sluice node node-a stopped before it finished. "

// A create cut short rolls back on restart: the resource whose create call was
// under way is cancelled and deleted by the name recorded before the call (the
// function exists: the node stopped after creating it, before recording it),
// then the created ones in reverse order.
func TestResumeInterruptedCreate(t *testing.T) {
	st := memstore.New()
	orphan := physicalNameWith("crash", "Second", "ABCDEFGHJKLM", 64, false)
	api := &fakeAPI{exists: map[string]bool{
		"/2015-03-31/functions/crash-First-AAAAAAAAAAAA":                          true,
		"/2015-03-31/functions/crash-First-AAAAAAAAAAAA/policy/crash-Perm-BBBBBB": true,
		"/2015-03-31/functions/" + orphan:                                         true,
	}}
	putStack(t, st, &stackRecord{StackID: testStackID, StackName: "crash", Status: statusCreateInProgress, StatusReason: "User Initiated",
		CreationTime: time.Now().UTC(), Operation: &stackOperation{Kind: "create", Owner: "node-a", OnFailure: "ROLLBACK"},
		Order: []string{"First", "Perm", "Second"},
		Resources: map[string]*resourceRecord{
			"First": {LogicalID: "First", Type: "AWS::Lambda::Function", PhysicalID: "crash-First-AAAAAAAAAAAA", Status: statusCreateComplete,
				Properties: fnProps("index.a"), Suffix: "AAAAAAAAAAAA"},
			"Perm": {LogicalID: "Perm", Type: "AWS::Lambda::Permission", PhysicalID: "crash-Perm-BBBBBB", Status: statusCreateComplete,
				Properties: map[string]any{"FunctionName": "crash-First-AAAAAAAAAAAA", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}},
			"Second": {LogicalID: "Second", Type: "AWS::Lambda::Function", Status: statusCreateInProgress, Properties: fnProps("index.b"),
				Suffix: "ABCDEFGHJKLM"},
		}})

	restart(t, st, api, nil)

	rec := loadRecord(t, st, stackPrefix+"crash")
	if rec.Status != statusRollbackComplete || rec.Operation != nil {
		t.Fatalf("status %s, operation %+v", rec.Status, rec.Operation)
	}
	wantEvents(t, eventLines(t, st), []string{
		"Second CREATE_FAILED Resource creation cancelled",
		"crash ROLLBACK_IN_PROGRESS " + interrupted + "Rollback requested by Sluice.",
		"Second DELETE_IN_PROGRESS",
		"Second DELETE_COMPLETE",
		"Perm DELETE_IN_PROGRESS",
		"Perm DELETE_COMPLETE",
		"First DELETE_IN_PROGRESS",
		"First DELETE_COMPLETE",
		"crash ROLLBACK_COMPLETE",
	})
	if len(api.exists) != 0 {
		t.Fatalf("left behind: %v", api.exists)
	}
	if got := api.called("DELETE"); len(got) != 3 {
		t.Fatalf("deletes: %v", got)
	}
}

// A rollback cut short continues: what is already deleted is not deleted again,
// and a resource the first run deleted without recording it counts as deleted
// (its delete answers not found).
func TestResumeInterruptedRollback(t *testing.T) {
	st := memstore.New()
	api := &fakeAPI{exists: map[string]bool{"/2015-03-31/functions/crash-First-AAAAAAAAAAAA": true}}
	putStack(t, st, &stackRecord{StackID: testStackID, StackName: "crash", Status: statusRollbackInProgress,
		CreationTime: time.Now().UTC(), Operation: &stackOperation{Kind: "create", Owner: "node-a"},
		Order: []string{"First", "Second"},
		Resources: map[string]*resourceRecord{
			"First": {LogicalID: "First", Type: "AWS::Lambda::Function", PhysicalID: "crash-First-AAAAAAAAAAAA", Status: statusCreateComplete,
				Properties: fnProps("index.a")},
			"Second": {LogicalID: "Second", Type: "AWS::Lambda::Function", PhysicalID: "crash-Second-CCCCCCCCCCCC", Status: statusDeleteInProgress,
				Properties: fnProps("index.b")},
		}})

	restart(t, st, api, nil)

	if rec := loadRecord(t, st, stackPrefix+"crash"); rec.Status != statusRollbackComplete {
		t.Fatalf("status %s", rec.Status)
	}
	wantEvents(t, eventLines(t, st), []string{
		"crash ROLLBACK_IN_PROGRESS " + interrupted + "Resuming rollback.",
		"Second DELETE_IN_PROGRESS",
		"Second DELETE_COMPLETE",
		"First DELETE_IN_PROGRESS",
		"First DELETE_COMPLETE",
		"crash ROLLBACK_COMPLETE",
	})
}

// An update cut short during an in-place update rolls back to the previous
// template: the function is updated back to its previous properties and the
// bucket the update added is deleted.
func TestResumeInterruptedUpdate(t *testing.T) {
	st := memstore.New()
	api := &fakeAPI{exists: map[string]bool{"/crash-bucket-dddddddddddd": true}}
	fn := "crash-Fn-AAAAAAAAAAAA"
	prev := &stackRecord{StackID: testStackID, StackName: "crash", Status: statusCreateComplete, TemplateBody: "old template",
		Processed: "old processed", Outputs: []outputValue{{Key: "Out", Value: "old"}},
		Order: []string{"Fn"},
		Resources: map[string]*resourceRecord{
			"Fn": {LogicalID: "Fn", Type: "AWS::Lambda::Function", PhysicalID: fn, Status: statusCreateComplete, Properties: fnProps("index.old"),
				Attrs: map[string]any{"Arn": "arn:aws:lambda:us-east-1:123456789012:function:" + fn}},
		}}
	cur := cloneRecord(prev)
	cur.Status, cur.TemplateBody = statusUpdateInProgress, "new template"
	cur.Order = []string{"Bucket", "Fn"}
	cur.Resources["Bucket"] = &resourceRecord{LogicalID: "Bucket", Type: "AWS::S3::Bucket", PhysicalID: "crash-bucket-dddddddddddd",
		Status: statusCreateComplete, Properties: map[string]any{}}
	cur.Resources["Fn"].Status = statusUpdateInProgress
	cur.Resources["Fn"].Properties = fnProps("index.new")
	cur.Operation = &stackOperation{Kind: "update", Owner: "node-a", Previous: prev, Keep: []string{"Bucket", "Fn"}}
	putStack(t, st, cur)

	restart(t, st, api, nil)

	rec := loadRecord(t, st, stackPrefix+"crash")
	if rec.Status != statusUpdateRollbackDone || rec.Operation != nil {
		t.Fatalf("status %s, operation %+v", rec.Status, rec.Operation)
	}
	if rec.TemplateBody != "old template" || rec.Processed != "old processed" || !slices.Equal(rec.Order, []string{"Fn"}) ||
		rec.Resources["Bucket"] != nil || rec.Outputs[0].Value != "old" {
		t.Fatalf("stack not as before: template %q order %v resources %v outputs %v", rec.TemplateBody, rec.Order, rec.Resources, rec.Outputs)
	}
	if !jsonEqual(rec.Resources["Fn"].Properties, fnProps("index.old")) {
		t.Fatalf("function properties %v", rec.Resources["Fn"].Properties)
	}
	configs := api.called("PUT /2015-03-31/functions/" + fn + "/configuration")
	if len(configs) != 1 {
		t.Fatalf("configuration updates: %v", api.called("PUT"))
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(configs[0][strings.Index(configs[0], "{"):]), &body)
	if body["Handler"] != "index.old" {
		t.Fatalf("function updated back with %s", configs[0])
	}
	if len(api.exists) != 0 {
		t.Fatalf("left behind: %v", api.exists)
	}
	wantEvents(t, eventLines(t, st), []string{
		"Fn UPDATE_FAILED Resource update cancelled",
		"crash UPDATE_ROLLBACK_IN_PROGRESS " + interrupted + "Rollback requested by Sluice.",
		"Fn UPDATE_IN_PROGRESS",
		"Fn UPDATE_COMPLETE",
		"crash UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
		"Bucket DELETE_IN_PROGRESS",
		"Bucket DELETE_COMPLETE",
		"crash UPDATE_ROLLBACK_COMPLETE",
	})
}

// An update cut short while creating a replacement rolls back to the previous
// physical resource and deletes the replacement by its recorded name.
func TestResumeInterruptedReplacement(t *testing.T) {
	st := memstore.New()
	newName := physicalNameWith("crash", "Fn", "NNNNNNNNNNNN", 64, false)
	api := &fakeAPI{exists: map[string]bool{"/2015-03-31/functions/" + newName: true, "/2015-03-31/functions/old-fn": true}}
	prev := &stackRecord{StackID: testStackID, StackName: "crash", Status: statusUpdateComplete, TemplateBody: "old", Order: []string{"Fn"},
		Resources: map[string]*resourceRecord{
			"Fn": {LogicalID: "Fn", Type: "AWS::Lambda::Function", PhysicalID: "old-fn", Status: statusUpdateComplete, Properties: fnProps("index.a")},
		}}
	cur := cloneRecord(prev)
	cur.Status = statusUpdateInProgress
	cur.Resources["Fn"] = &resourceRecord{LogicalID: "Fn", Type: "AWS::Lambda::Function", Status: statusUpdateInProgress,
		Properties: fnProps("index.a"), Suffix: "NNNNNNNNNNNN"}
	cur.Operation = &stackOperation{Kind: "update", Owner: "node-a", Previous: prev, Keep: []string{"Fn"}}
	putStack(t, st, cur)

	restart(t, st, api, nil)

	rec := loadRecord(t, st, stackPrefix+"crash")
	if rec.Status != statusUpdateRollbackDone || rec.Resources["Fn"].PhysicalID != "old-fn" {
		t.Fatalf("status %s, function %+v", rec.Status, rec.Resources["Fn"])
	}
	if !slices.Equal(api.called("DELETE"), []string{"DELETE /2015-03-31/functions/" + newName}) || !api.exists["/2015-03-31/functions/old-fn"] {
		t.Fatalf("deletes %v, left %v", api.called("DELETE"), api.exists)
	}
}

// An update cut short in its cleanup had succeeded: the cleanup continues,
// deleting the replaced physical resource it still lists and the resource the
// template no longer has, and the stack ends UPDATE_COMPLETE.
func TestResumeInterruptedCleanup(t *testing.T) {
	st := memstore.New()
	api := &fakeAPI{exists: map[string]bool{"/2015-03-31/functions/old-fn": true, "/2015-03-31/functions/gone-fn": true,
		"/2015-03-31/functions/new-fn": true}}
	prev := &stackRecord{StackID: testStackID, StackName: "crash", Status: statusCreateComplete, Order: []string{"Fn", "Gone"},
		Resources: map[string]*resourceRecord{
			"Fn":   {LogicalID: "Fn", Type: "AWS::Lambda::Function", PhysicalID: "old-fn", Status: statusCreateComplete, Properties: fnProps("index.a")},
			"Gone": {LogicalID: "Gone", Type: "AWS::Lambda::Function", PhysicalID: "gone-fn", Status: statusCreateComplete, Properties: fnProps("index.g")},
		}}
	cur := cloneRecord(prev)
	cur.Status = statusUpdateCleanup
	cur.Resources["Fn"] = &resourceRecord{LogicalID: "Fn", Type: "AWS::Lambda::Function", PhysicalID: "new-fn", Status: statusUpdateComplete,
		Properties: fnProps("index.a")}
	cur.Operation = &stackOperation{Kind: "update", Owner: "node-a", Previous: prev, Keep: []string{"Fn"},
		Detached: []*resourceRecord{prev.Resources["Fn"]}}
	putStack(t, st, cur)

	restart(t, st, api, nil)

	rec := loadRecord(t, st, stackPrefix+"crash")
	if rec.Status != statusUpdateComplete || rec.Operation != nil || !slices.Equal(rec.Order, []string{"Fn"}) || rec.Resources["Gone"] != nil {
		t.Fatalf("status %s, operation %+v, order %v, resources %v", rec.Status, rec.Operation, rec.Order, rec.Resources)
	}
	if !slices.Equal(slices.Collect(maps.Keys(api.exists)), []string{"/2015-03-31/functions/new-fn"}) {
		t.Fatalf("functions left: %v", api.exists)
	}
	wantEvents(t, eventLines(t, st), []string{
		"crash UPDATE_COMPLETE_CLEANUP_IN_PROGRESS " + interrupted + "Resuming cleanup.",
		"Fn DELETE_IN_PROGRESS",
		"Fn DELETE_COMPLETE",
		"Gone DELETE_IN_PROGRESS",
		"Gone DELETE_COMPLETE",
		"crash UPDATE_COMPLETE",
	})
}

// A delete cut short continues to DELETE_COMPLETE: the resource it was deleting
// is deleted again (already gone: not found is success) and the stack's name is
// free.
func TestResumeInterruptedDelete(t *testing.T) {
	st := memstore.New()
	api := &fakeAPI{exists: map[string]bool{"/2015-03-31/functions/crash-First-AAAAAAAAAAAA": true}}
	putStack(t, st, &stackRecord{StackID: testStackID, StackName: "crash", Status: statusDeleteInProgress,
		CreationTime: time.Now().UTC(), Operation: &stackOperation{Kind: "delete", Owner: "node-a"},
		Order: []string{"First", "Second", "Third"},
		Resources: map[string]*resourceRecord{
			"First": {LogicalID: "First", Type: "AWS::Lambda::Function", PhysicalID: "crash-First-AAAAAAAAAAAA", Status: statusCreateComplete,
				Properties: fnProps("index.a")},
			"Second": {LogicalID: "Second", Type: "AWS::Lambda::Function", PhysicalID: "crash-Second-CCCCCCCCCCCC", Status: statusDeleteInProgress,
				Properties: fnProps("index.b")},
			"Third": {LogicalID: "Third", Type: "AWS::Lambda::Function", PhysicalID: "crash-Third-DDDDDDDDDDDD", Status: statusDeleteComplete,
				Properties: fnProps("index.c")},
		}})

	restart(t, st, api, nil)

	if _, found, _ := store.GetRecord[stackRecord](store.ReaderOf(context.Background(), st), stackPrefix+"crash"); found {
		t.Fatal("the stack's name is still taken")
	}
	if rec := loadRecord(t, st, deletedPrefix+stackUUID(testStackID)); rec.Status != statusDeleteComplete {
		t.Fatalf("status %s", rec.Status)
	}
	wantEvents(t, eventLines(t, st), []string{
		"crash DELETE_IN_PROGRESS " + interrupted + "Resuming delete.",
		"Second DELETE_IN_PROGRESS",
		"Second DELETE_COMPLETE",
		"First DELETE_IN_PROGRESS",
		"First DELETE_COMPLETE",
		"crash DELETE_COMPLETE",
	})
	if len(api.exists) != 0 {
		t.Fatalf("left behind: %v", api.exists)
	}
}

// A stack an earlier version left DELETE_COMPLETE under its name (it recorded
// the last event and freed the name in two steps) has its name freed.
func TestResumeDeleteCompleteUnderName(t *testing.T) {
	st := memstore.New()
	putStack(t, st, &stackRecord{StackID: testStackID, StackName: "crash", Status: statusDeleteComplete, Resources: map[string]*resourceRecord{}})
	restart(t, st, &fakeAPI{}, nil)
	if _, found, _ := store.GetRecord[stackRecord](store.ReaderOf(context.Background(), st), stackPrefix+"crash"); found {
		t.Fatal("the stack's name is still taken")
	}
	if rec := loadRecord(t, st, deletedPrefix+stackUUID(testStackID)); rec.Status != statusDeleteComplete {
		t.Fatalf("status %s", rec.Status)
	}
}

// In a cluster, an operation whose owner is still registered is its owner's to
// finish; one whose owner is gone is taken over.
func TestResumeClusterOwner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alive bool
		want  string
	}{
		{"owner alive", true, statusDeleteInProgress},
		{"owner gone", false, statusDeleteComplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			putStack(t, st, &stackRecord{StackID: testStackID, StackName: "crash", Status: statusDeleteInProgress,
				Operation: &stackOperation{Kind: "delete", Owner: "node-b"}, Resources: map[string]*resourceRecord{}})
			restart(t, st, &fakeAPI{}, func(_ context.Context, id string) (bool, error) { return id == "node-b" && tc.alive, nil })
			key := stackPrefix + "crash"
			if tc.want == statusDeleteComplete {
				key = deletedPrefix + stackUUID(testStackID)
			}
			if rec := loadRecord(t, st, key); rec.Status != tc.want {
				t.Fatalf("status %s, want %s", rec.Status, tc.want)
			}
		})
	}
}

// An update that fails without any crash rolls back through the same path: the
// function updated in place gets its old code back and the function the update
// added is deleted.
func TestUpdateFailureRollsBack(t *testing.T) {
	st := memstore.New()
	api := &fakeAPI{exists: map[string]bool{}}
	s := New(Options{Store: st, Region: "us-east-1", AccountID: "123456789012", API: api, AccessKeyID: "AKIDTEST",
		SecretAccessKey: "secret", NodeID: "node-a"})
	ctx := context.Background()
	s.Start(ctx)
	tmpl := func(code string, more bool) string {
		fn := func(handler string) string {
			return `{"Type":"AWS::Lambda::Function","Properties":{"Runtime":"nodejs20.x","Handler":"` + handler +
				`","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"` + code + `"}}}`
		}
		res := `"Fn":` + fn("index.a")
		if more {
			res += `,"Added":` + fn("index.added") + `,"Broken":{"Type":"AWS::Lambda::Function","DependsOn":["Added","Fn"],"Properties":` +
				`{"Runtime":"nodejs20.x","Handler":"index.broken","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"x"}}}`
		}
		return `{"Resources":{` + res + `}}`
	}
	if _, err := s.createStack(ctx, url.Values{"StackName": {"crash"}, "TemplateBody": {tmpl("v1", false)}}); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	api.fail = "index.broken"
	if _, err := s.updateStack(ctx, url.Values{"StackName": {"crash"}, "TemplateBody": {tmpl("v2", true)}}); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	rec := loadRecord(t, st, stackPrefix+"crash")
	if rec.Status != statusUpdateRollbackDone || rec.Operation != nil || len(rec.Resources) != 1 || !slices.Equal(rec.Order, []string{"Fn"}) {
		t.Fatalf("status %s, operation %+v, resources %v, order %v", rec.Status, rec.Operation, rec.Resources, rec.Order)
	}
	fn := rec.Resources["Fn"].PhysicalID
	codes := api.called("PUT /2015-03-31/functions/" + fn + "/code")
	if len(codes) != 2 {
		t.Fatalf("code updates: %v of %v", codes, api.calls)
	}
	if !slices.Equal(slices.Collect(maps.Keys(api.exists)), []string{"/2015-03-31/functions/" + fn}) {
		t.Fatalf("functions left: %v", api.exists)
	}
}
