package lambda

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// unsupportedSettings are CreateFunction / UpdateFunctionConfiguration members AWS
// has that Sluice cannot honour. Dropping them would be silent: a function the user
// put in a VPC would reach any network, one signed-code-only would run anything, one
// with a dead-letter queue would lose failed events. So a non-empty value is refused with 501;
// the empty values tools send to mean "none" (VpcConfig with no subnets, an empty
// DeadLetterConfig, SnapStart ApplyOn None) are accepted.
type unsupportedSettings struct {
	VpcConfig *struct {
		SubnetIds        []string `json:"SubnetIds"`
		SecurityGroupIds []string `json:"SecurityGroupIds"`
	} `json:"VpcConfig"`
	DeadLetterConfig *struct {
		TargetArn string `json:"TargetArn"`
	} `json:"DeadLetterConfig"`
	KMSKeyArn            string            `json:"KMSKeyArn"`
	CodeSigningConfigArn string            `json:"CodeSigningConfigArn"`
	FileSystemConfigs    []json.RawMessage `json:"FileSystemConfigs"`
	SnapStart            *struct {
		ApplyOn string `json:"ApplyOn"`
	} `json:"SnapStart"`
	ImageConfig json.RawMessage `json:"ImageConfig"`
}

func notImplemented(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException", format, args...)
}

// check refuses the first setting Sluice cannot honour.
func (u *unsupportedSettings) check() error {
	switch {
	case u.VpcConfig != nil && (len(u.VpcConfig.SubnetIds) > 0 || len(u.VpcConfig.SecurityGroupIds) > 0):
		return notImplemented("VpcConfig is not implemented in Sluice: functions cannot be attached to a VPC, and Sluice will not run a function outside the network it was configured for.")
	case u.DeadLetterConfig != nil && u.DeadLetterConfig.TargetArn != "":
		return notImplemented("DeadLetterConfig is not implemented in Sluice (there is no SQS or SNS to deliver failed events to); use DestinationConfig OnFailure with a Lambda destination (PutFunctionEventInvokeConfig).")
	case u.KMSKeyArn != "":
		return notImplemented("KMSKeyArn is not implemented in Sluice: there is no KMS, so environment variables cannot be encrypted with a customer managed key.")
	case u.CodeSigningConfigArn != "":
		return notImplemented("CodeSigningConfigArn is not implemented in Sluice: code signing is not enforced, so a function requiring signed code is refused.")
	case len(u.FileSystemConfigs) > 0:
		return notImplemented("FileSystemConfigs (Amazon EFS) are not implemented in Sluice.")
	case u.SnapStart != nil && u.SnapStart.ApplyOn != "" && u.SnapStart.ApplyOn != "None":
		return notImplemented("SnapStart is not implemented in Sluice.")
	case isSet(u.ImageConfig):
		return notImplemented("ImageConfig is not implemented in Sluice: it runs Zip functions only.")
	}
	return nil
}

// isSet reports a JSON member that is present and neither null nor empty.
func isSet(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "{}", "[]":
		return false
	}
	return true
}
