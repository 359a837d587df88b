package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// GetFunction's Code.Location downloads the function's code through the shared
// listener, with S3 enabled there, and a tampered URL does not. Before, the URL
// was presigned for service s3, so the dispatcher handed it to the S3 service
// (which claims every request signed for s3) and it answered NoSuchBucket.
func TestCodeLocationDownloads(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	c := lambda.NewFromConfig(s.sdkConfig())
	code := nodeZip(t, "exports.handler = async () => 'code url';\n")
	sdkCall(c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("dl"), Runtime: types.RuntimeNodejs22x,
		Handler: aws.String("index.handler"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: code}})).must(t)
	got := sdkCall(c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("dl")})).must(t)
	loc := aws.ToString(got.Code.Location)
	get := func(url string) (int, []byte) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, b := get(loc); status != 200 || zipSHA(b) != zipSHA(code) {
		t.Fatalf("download %s: %d, %d bytes: %.200s", loc, status, len(b), b)
	}
	tampered := strings.Replace(loc, "X-Amz-Expires=600", "X-Amz-Expires=6000", 1)
	if status, b := get(tampered); status != 403 {
		t.Fatalf("tampered URL answered %d: %.200s", status, b)
	}
}
