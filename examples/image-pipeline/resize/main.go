// Command resize is the image pipeline's thumbnail function (seed scenario 5): run by
// the upload bucket's s3:ObjectCreated:* notification, it reads each new image and
// writes JPEG thumbnails 80 and 500 pixels wide to {bucket}-resized/{width}/{key}.jpg.
// Built for provided.al2023 as `bootstrap`.
//
// Formats: JPEG, PNG and GIF (standard library), WebP, BMP and TIFF
// (golang.org/x/image). HEIC is not decoded: neither the standard library nor
// x/image has a HEIC (HEVC) decoder and a cgo libheif binding would tie the
// function to a system library; such uploads are logged and skipped (not retried).
package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif"
	"image/jpeg"
	_ "image/png"
	"io"
	"log"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// widths are the thumbnail sizes written for every upload.
var widths = []int{80, 500}

// maxSourceBytes bounds the image read into memory.
const maxSourceBytes = 50 << 20

func handler(ctx context.Context, event events.S3Event) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, rec := range event.Records {
		// S3 sends the key URL-encoded with '+' for spaces.
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil {
			return fmt.Errorf("event key %q: %w", rec.S3.Object.Key, err)
		}
		if err := resize(ctx, client, rec.S3.Bucket.Name, key); err != nil {
			return err
		}
	}
	return nil
}

func resize(ctx context.Context, client *s3.Client, bucket, key string) error {
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	data, err := io.ReadAll(io.LimitReader(obj.Body, maxSourceBytes))
	obj.Body.Close()
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	src, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		// Not an image this function can decode (HEIC, or not an image at all):
		// retrying would not help.
		log.Printf("skip s3://%s/%s: %v", bucket, key, err)
		return nil
	}
	for _, w := range widths {
		thumb := scaleToWidth(src, w)
		var out bytes.Buffer
		if err := jpeg.Encode(&out, thumb, &jpeg.Options{Quality: 85}); err != nil {
			return err
		}
		dest := fmt.Sprintf("%d/%s.jpg", w, key)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket + "-resized"), Key: aws.String(dest),
			Body: bytes.NewReader(out.Bytes()), ContentType: aws.String("image/jpeg"),
		}); err != nil {
			return fmt.Errorf("put s3://%s-resized/%s: %w", bucket, dest, err)
		}
		log.Printf("s3://%s/%s (%s %dx%d) -> s3://%s-resized/%s (%dx%d)", bucket, key, format,
			src.Bounds().Dx(), src.Bounds().Dy(), bucket, dest, thumb.Bounds().Dx(), thumb.Bounds().Dy())
	}
	return nil
}

// scaleToWidth scales src to width w, keeping its aspect ratio (CatmullRom).
func scaleToWidth(src image.Image, w int) image.Image {
	b := src.Bounds()
	h := max(1, b.Dy()*w/max(1, b.Dx()))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	return dst
}

func main() { lambda.Start(handler) }
