package entratest

import (
	"compress/gzip"
	"net/http"
	"strings"
)

// Request bodies compressed with gzip. The Microsoft Graph SDKs compress
// every request body (Content-Encoding: gzip) and send it uncompressed again
// only after a 415 (the SDK design's CompressionHandler,
// https://github.com/microsoftgraph/msgraph-sdk-design/blob/master/middleware/CompressionHandler.md;
// the Go SDK's handler retries on 415 alone), so Graph accepts them; the
// emulator's Graph does too.

// gunzipBody replaces a gzip-encoded request body with its decompressed
// stream. Another encoding gets 415, as a service that cannot read it
// answers; a body that is not gzip fails where it is read, as malformed JSON.
func (s *Server) gunzipBody(w http.ResponseWriter, r *http.Request) bool {
	enc := strings.TrimSpace(strings.ToLower(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return true
	case "gzip":
	default:
		s.graphError(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding "+enc+" is not supported.")
		return false
	}
	zr, err := gzip.NewReader(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return false
	}
	r.Body = zr
	r.Header.Del("Content-Encoding")
	return true
}
