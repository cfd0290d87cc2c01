package entratest_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"
)

// TestGraphGzipBody: a sendMail body compressed with gzip, as the Graph SDKs
// send it, is delivered; an encoding Graph cannot read gets 415.
func TestGraphGzipBody(t *testing.T) {
	e := newEnv(t)
	tok := graphToken(t, e, "Mail.Read Mail.Send")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"message":{"subject":"Zipped","body":{"contentType":"Text","content":"hi"},"toRecipients":[{"emailAddress":{"address":"` + e.user.UPN + `"}}]}}`))
	zw.Close()
	for _, tc := range []struct {
		encoding string
		want     int
	}{{"gzip", http.StatusAccepted}, {"br", http.StatusUnsupportedMediaType}} {
		req, _ := http.NewRequest("POST", e.srv.GraphURL()+"/me/sendMail", bytes.NewReader(buf.Bytes()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", tc.encoding)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Content-Encoding %s: %d, want %d", tc.encoding, resp.StatusCode, tc.want)
		}
	}
	if msgs := e.srv.Messages(e.user.ObjectID); len(msgs) == 0 || msgs[len(msgs)-1].Subject != "Zipped" {
		t.Errorf("the compressed message was not delivered: %+v", msgs)
	}
}
