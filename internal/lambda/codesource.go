package lambda

import (
	"context"
	"errors"
	"io"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// CodeSource opens function code kept in the object store, for CreateFunction and
// UpdateFunctionCode with Code.S3Bucket/S3Key/S3ObjectVersion. Errors carrying an
// S3 code (*awsproto.Error, or errors wrapping one) are reported as Lambda words them.
type CodeSource interface {
	OpenObject(ctx context.Context, bucket, key, versionID string) (io.ReadCloser, error)
}

// codeFromS3 reads a deployment package from the object store. Lambda reports
// object-store failures as InvalidParameterValueException:
// "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
func (s *Service) codeFromS3(ctx context.Context, code *functionCode) ([]byte, error) {
	if s.codeSource == nil {
		return nil, invalidParam("Sluice's object store is not available in this build; pass the code inline (ZipFile).")
	}
	if code.S3Bucket == "" || code.S3Key == "" {
		return nil, invalidParam("Please provide a source for function code.")
	}
	rc, err := s.codeSource.OpenObject(ctx, code.S3Bucket, code.S3Key, code.S3ObjectVersion)
	if err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			return nil, invalidParam("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", ae.Code, ae.Message)
		}
		return nil, internalError("read code from S3: %w", err)
	}
	defer rc.Close()
	// An S3 package may be larger than a direct upload, up to the unzipped limit.
	zip, err := io.ReadAll(io.LimitReader(rc, maxUnzippedCode+1))
	if err != nil {
		return nil, internalError("read code from S3: %w", err)
	}
	if len(zip) > maxUnzippedCode {
		return nil, invalidParam("Unzipped size must be smaller than %d bytes", maxUnzippedCode)
	}
	return zip, nil
}
