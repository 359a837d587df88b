// Command presign is the image pipeline's upload-URL function (seed scenario 5):
// behind GET /image/presigned-uri it returns a presigned S3 PUT URL, valid for 20
// minutes, for a new key in $UPLOAD_BUCKET. The browser uploads straight to the
// object store with it. Built for provided.al2023 as `bootstrap`.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// urlLifetime is how long an upload URL works.
const urlLifetime = 20 * time.Minute

type presignResponse struct {
	UploadURL string `json:"uploadURL"`
	Key       string `json:"key"`
	Expires   string `json:"expires"`
}

func newPresigner(ctx context.Context) (*s3.PresignClient, error) {
	// LoadDefaultConfig reads the region, the credentials and AWS_ENDPOINT_URL
	// (Sluice's endpoint) from the function's environment.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	return s3.NewPresignClient(client), nil
}

func handler(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	presigner, err := newPresigner(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	key := hex.EncodeToString(id[:]) + ".jpg"
	if name := req.QueryStringParameters["name"]; name != "" {
		key = name
	}
	contentType := "image/jpeg"
	if ct := req.QueryStringParameters["contentType"]; ct != "" {
		contentType = ct
	}
	signed, err := presigner.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(os.Getenv("UPLOAD_BUCKET")),
		Key:         aws.String(key),
		ContentType: aws.String(contentType),
	}, s3.WithPresignExpires(urlLifetime))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	body, _ := json.Marshal(presignResponse{UploadURL: signed.URL, Key: key, Expires: time.Now().Add(urlLifetime).UTC().Format(time.RFC3339)})
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body),
		Headers: map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}}, nil
}

func main() { lambda.Start(handler) }
