package main

import (
	"fmt"
	"net/http"

	"github.com/rotorkit/rotor/rotation/rotationhttp"
)

// render writes f as this API's errors are, {"code", "description",
// "detail"}, with the document's statuses where they differ from
// rotationhttp's. Conflicts the document has no code for are validation
// errors of the request.
func render(w http.ResponseWriter, r *http.Request, f rotationhttp.Failure) {
	switch f.Code {
	case rotationhttp.CodeMissingAPIToken:
		f.Status = http.StatusBadRequest
	case rotationhttp.CodeInvalidAPIToken:
		f.Status = http.StatusForbidden
	case rotationhttp.CodeAPITokenNotFound:
		f.Message = "no API token was found with this id" // rotationhttp's says secret
	case rotationhttp.CodeLimitReached:
		f = rotationhttp.FailureFor(invalid("api_token", fmt.Sprintf("cannot be created: the organization has %d unexpired tokens, the most it may", f.Limit)))
	case rotationhttp.CodeSecretNotActive:
		f = rotationhttp.FailureFor(invalid("api_token.id", "must name a token that has not expired"))
	}
	detail := map[string]any{}
	switch f.Code {
	case rotationhttp.CodeUnauthorizedNetwork:
		detail["ip_address"] = f.IP
	case rotationhttp.CodeScopeNotGranted:
		detail["scopes"] = []string{f.Scope}
	case rotationhttp.CodeRateLimitReached:
		detail["total_permitted"] = f.TotalPermitted
	case rotationhttp.CodeValidationError:
		var errs []string
		for _, fe := range f.Fields {
			errs = append(errs, fe.Field+" "+fe.Detail)
		}
		detail["errors"] = errs
	}
	f.SetHeaders(w.Header())
	rotationhttp.WriteJSON(w, f.Status, map[string]any{"code": f.Code, "description": f.Message, "detail": detail})
}
