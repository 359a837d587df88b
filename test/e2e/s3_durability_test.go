package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Body is the content written under key: a few hundred KiB, derived from the key,
// so a partial or mixed-up object shows.
func s3Body(key string) []byte {
	r := rand.New(rand.NewSource(int64(len(key)) * 7919))
	b := bytes.Repeat([]byte(key+"|"), 1+r.Intn(20000))
	return b
}

// Uploads cut off by kill -9 leave nothing visible, and every acknowledged upload
// survives: writers stream PutObject calls, sluice is killed mid-stream, and after a
// restart every listed object reads back whole and every acknowledged one is listed.
func TestS3DurabilityKill9(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	if _, err := s3Client(s, true, s.URL).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("durable")}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		c := s3.NewFromConfig(s.sdkConfig(), func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
		var mu sync.Mutex
		acked := map[string]bool{}
		wctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; wctx.Err() == nil; i++ {
					key := fmt.Sprintf("r%d/w%d/%d", round, w, i)
					if _, err := c.PutObject(wctx, &s3.PutObjectInput{Bucket: aws.String("durable"), Key: aws.String(key),
						Body: bytes.NewReader(s3Body(key))}); err != nil {
						return // cut off by the kill: not acknowledged
					}
					mu.Lock()
					acked[key] = true
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(400+rand.Intn(800)) * time.Millisecond)
		s.kill9()
		cancel()
		wg.Wait()
		if len(acked) == 0 {
			t.Fatalf("round %d: no upload was acknowledged before the kill", round)
		}
		s.start()
		c = s3.NewFromConfig(s.sdkConfig(), func(o *s3.Options) { o.UsePathStyle = true })
		listed := map[string]bool{}
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("durable"), Prefix: aws.String(fmt.Sprintf("r%d/", round))})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				listed[aws.ToString(o.Key)] = true
			}
		}
		for key := range acked {
			if !listed[key] {
				t.Fatalf("round %d: acknowledged object %s lost", round, key)
			}
		}
		for key := range listed {
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("durable"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("round %d: listed object %s does not read: %v", round, key, err)
			}
			got, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil || !bytes.Equal(got, s3Body(key)) {
				t.Fatalf("round %d: object %s is partial or wrong (%d bytes, %v)", round, key, len(got), err)
			}
		}
		t.Logf("round %d: %d acknowledged, %d listed", round, len(acked), len(listed))
	}
}
