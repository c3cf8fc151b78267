package auth

import (
	"fmt"
	"net/http"

	"billing/shared/httpkit"
)

// The messages of the 401 answers. Each says what is wrong with the token
// and what the client should do; none repeats the token.
const (
	// missing_token
	msgNoHeader = `No access token: the request has no Authorization header. ` +
		`Send "Authorization: Bearer <access_token>" with the signed-in user's session.access_token.`
	msgEmptyBearer = `No access token: the Authorization header says "Bearer" but carries no token. ` +
		`Send the signed-in user's session.access_token after "Bearer ".`
	msgEmptyToken  = `No access token was given. Send the signed-in user's session.access_token.`
	msgPlaceholder = `No access token: the Authorization header carries the text "undefined" or "null" instead of a token, ` +
		`so the app had no session when it made this call. Wait until supabase.auth.getSession() returns a session ` +
		`(or sign the user in) and send its access_token.`

	// invalid_token
	msgBadScheme = `The Authorization header must have the form "Bearer <access_token>"; ` +
		`it uses another scheme or no scheme at all.`
	msgTooLong   = `The access token is far longer than a Supabase access token; send session.access_token unchanged.`
	msgMalformed = `The access token is not a well-formed JWT (three base64url parts: header, claims, signature). ` +
		`Send session.access_token unchanged.`
	msgAlgNone        = `The access token is unsigned (alg "none"); unsigned tokens are never accepted.`
	msgAlgUnsupported = `The access token is signed with an algorithm that is not accepted; ` +
		`Supabase access tokens are signed with HS256, ES256 or RS256.`
	msgHS256Disabled = `The access token is signed with the project's legacy JWT secret (HS256), ` +
		`but this service only accepts the project's asymmetric signing keys (SUPABASE_JWT_SECRET is not set).`
	msgJWKSDisabled = `The access token is signed with an asymmetric key (ES256/RS256), ` +
		`but this service only knows the legacy JWT secret (SUPABASE_URL is not set, so the JWKS cannot be read).`
	msgNoKid = `The access token is signed with an asymmetric key but its header has no key ID (kid), ` +
		`so no signing key can be chosen.`
	msgUnknownKid = `The access token was signed with a key (kid) that is not among the project's published signing keys. ` +
		`It comes from another project or from a revoked key; sign in again.`
	msgAlgKeyMismatch = `The access token's algorithm does not match the algorithm of the key it names (kid).`
	msgSignature      = `The access token's signature does not verify: it was not issued by this project's Supabase Auth, ` +
		`or it was altered.`
	msgClaims         = `The access token's claims are not valid JWT claims.`
	msgNoExp          = `The access token has no expiry (exp); Supabase access tokens always expire.`
	msgNotYetValid    = `The access token is not valid yet (its nbf is in the future). Check the clock of the device.`
	msgIssuedInFuture = `The access token was issued in the future (its iat is ahead of this server's clock). Check the clock of the device.`
	msgAudience       = `The access token's audience (aud) is not "authenticated": it was not issued for a signed-in user.`
	msgIssuer         = `The access token was issued by another Supabase project or auth server (its iss does not match SUPABASE_URL).`
	msgNoSub          = `The access token names no user (missing sub).`
	msgSubNotUUID     = `The access token's subject (sub) is not a Supabase user ID (a UUID).`

	// token_expired
	msgExpired = `The access token has expired. Refresh the session (supabase.auth.getSession) and retry.`

	// not_a_user_token
	msgAnonKey = `This is the project's anon key, not a signed-in user's access token. ` +
		`Sign the user in and send session.access_token from supabase.auth.getSession() as the Bearer token.`
	msgServiceRoleKey = `This is the project's service_role key, not a signed-in user's access token. ` +
		`Never send the service_role key from a client; send the signed-in user's session.access_token.`
	msgPublishableKey = `This is the project's publishable API key (sb_publishable_...), not a signed-in user's access token. ` +
		`Sign the user in and send session.access_token from supabase.auth.getSession() as the Bearer token.`
	msgSecretKey = `This is a secret API key (sb_secret_...), not a signed-in user's access token. ` +
		`Never send a secret key from a client; send the signed-in user's session.access_token.`
	msgOtherRole = `This token is not a signed-in user's access token (its role is not "authenticated"). ` +
		`Send session.access_token from supabase.auth.getSession() as the Bearer token.`
)

// missingToken is a 401 missing_token.
func missingToken(msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusUnauthorized, httpkit.CodeMissingToken, msg)
}

// invalidToken is a 401 invalid_token; cause, if any, is only logged.
func invalidToken(msg string, cause error) *httpkit.Error {
	return &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeInvalidToken, Message: msg, Cause: cause}
}

// tokenExpired is a 401 token_expired; cause, if any, is only logged.
func tokenExpired(cause error) *httpkit.Error {
	return &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeTokenExpired, Message: msgExpired, Cause: cause}
}

// notAUserToken is a 401 not_a_user_token: a project API key, or some
// other token, was sent where a signed-in user's access token belongs.
func notAUserToken(msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusUnauthorized, httpkit.CodeNotAUserToken, msg)
}

// apiKeyError names the project API keys that are JWTs: the legacy anon and
// service_role keys carry that role and no user. Other roles give nil.
func apiKeyError(role string) error {
	switch role {
	case RoleAnon:
		return notAUserToken(msgAnonKey)
	case RoleServiceRole:
		return notAUserToken(msgServiceRoleKey)
	}
	return nil
}

// unknownKid is the answer for a kid that the JWKS does not have.
func unknownKid(kid string) error {
	return invalidToken(msgUnknownKid, fmt.Errorf("kid %q is not in the JWKS", kid))
}
