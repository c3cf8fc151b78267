package auth

// Cache timings, for the external tests.
const (
	UnknownKidInterval = unknownKidInterval
	JWKSTTL            = jwksTTL
	MaxStale           = maxStale
)
