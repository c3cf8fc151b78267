package plans

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// maxTrialDays is the longest trial Stripe accepts (two years).
const maxTrialDays = 730

// snakeCase matches plan IDs, entitlement names and limit names.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// envName matches the name inside a ${VAR} reference.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// rawCatalog is the JSON document, before validation.
type rawCatalog struct {
	FreePlan           *string           `json:"free_plan"`
	PastDueKeepsAccess bool              `json:"past_due_keeps_access"`
	UsageTimeZone      *string           `json:"usage_time_zone"`
	Downgrade          *string           `json:"downgrade"`
	AllowPromotion     bool              `json:"allow_promotion_codes"`
	Plans              []json.RawMessage `json:"plans"`
	// Counters declares the kind of a limit name (see counters.go).
	Counters map[string]json.RawMessage `json:"counters"`
}

// rawPlan is one entry of "plans", before validation.
type rawPlan struct {
	ID           string                     `json:"id"`
	Name         string                     `json:"name"`
	PriceIDs     *rawPrices                 `json:"price_ids"`
	Entitlements []string                   `json:"entitlements"`
	Limits       map[string]json.RawMessage `json:"limits"`
	TrialDays    int                        `json:"trial_days"`
	// LegacyPriceIDs are grandfathered prices (legacy.go).
	LegacyPriceIDs *rawLegacyPrices `json:"legacy_price_ids"`
}

// rawPrices is a plan's "price_ids", before ${VAR} expansion.
type rawPrices struct {
	Test string `json:"test"`
	Live string `json:"live"`
}

func (r *rawPrices) get(mode string) string {
	if r == nil {
		return ""
	}
	if mode == ModeLive {
		return r.Live
	}
	return r.Test
}

// Parse decodes and validates a catalog document for mode ("test" or
// "live"), expanding ${VAR} in price IDs with getenv (os.Getenv when nil).
// Every error is one line starting with "plans: " that names the plan and
// field at fault, and the variable when one is missing.
func Parse(data []byte, mode string, getenv func(string) string) (*Catalog, error) {
	if mode != ModeTest && mode != ModeLive {
		return nil, fmt.Errorf("plans: mode %q: must be %q or %q", mode, ModeTest, ModeLive)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	var raw rawCatalog
	if err := decodeStrict(data, &raw); err != nil {
		return nil, fmt.Errorf("plans: %s", err)
	}
	c := &Catalog{
		PastDueKeepsAccess: raw.PastDueKeepsAccess,
		Mode:               mode,
		byID:               map[string]int{},
		byPrice:            map[string]int{},
	}
	if raw.FreePlan == nil || *raw.FreePlan == "" {
		return nil, errors.New("plans: free_plan: missing")
	}
	c.FreePlan = *raw.FreePlan

	c.UsageTimeZone = DefaultUsageTimeZone
	if raw.UsageTimeZone != nil {
		c.UsageTimeZone = *raw.UsageTimeZone
	}
	loc, err := time.LoadLocation(c.UsageTimeZone)
	if err != nil || c.UsageTimeZone == "" || c.UsageTimeZone == "Local" {
		return nil, fmt.Errorf("plans: usage_time_zone: %q is not an IANA time zone name", c.UsageTimeZone)
	}
	c.loc = loc

	c.Downgrade = DowngradeAtPeriodEnd
	if raw.Downgrade != nil {
		c.Downgrade = *raw.Downgrade
	}
	if c.Downgrade != DowngradeAtPeriodEnd && c.Downgrade != DowngradeImmediately {
		return nil, fmt.Errorf("plans: downgrade: %q must be %q or %q", c.Downgrade, DowngradeAtPeriodEnd, DowngradeImmediately)
	}
	c.AllowPromotionCodes = raw.AllowPromotion

	if len(raw.Plans) == 0 {
		return nil, errors.New("plans: plans: the catalog has no plans")
	}
	if !slices.ContainsFunc(raw.Plans, func(msg json.RawMessage) bool { return probeID(msg) == c.FreePlan }) {
		return nil, fmt.Errorf("plans: free_plan: plan %q is not defined in plans", c.FreePlan)
	}
	priceOwner := map[string]string{} // price ID -> `plan "x" price_ids.mode`
	hasKeys := map[string]string{}    // PascalCase -> entitlement name
	for i, msg := range raw.Plans {
		var rp rawPlan
		if err := decodeStrict(msg, &rp); err != nil {
			return nil, fmt.Errorf("plans: %s: %s", planLabel(i, msg), err)
		}
		p, err := c.buildPlan(i, rp, getenv, priceOwner)
		if err != nil {
			return nil, fmt.Errorf("plans: %s", err)
		}
		for _, e := range p.Entitlements {
			key := pascal(e)
			if other, ok := hasKeys[key]; ok && other != e {
				return nil, fmt.Errorf("plans: plan %q: entitlements: %q and %q both become has%s", p.ID, other, e, key)
			}
			hasKeys[key] = e
			if !slices.Contains(c.entitlements, e) {
				c.entitlements = append(c.entitlements, e)
			}
		}
		for name := range p.Limits {
			if !slices.Contains(c.limitNames, name) {
				c.limitNames = append(c.limitNames, name)
			}
		}
		c.byID[p.ID] = len(c.Plans)
		if price := p.PriceIDs[mode]; price != "" {
			c.byPrice[price] = len(c.Plans)
		}
		for _, price := range p.LegacyPriceIDs[mode] {
			c.byPrice[price] = len(c.Plans)
		}
		c.Plans = append(c.Plans, p)
	}
	slices.Sort(c.entitlements)
	slices.Sort(c.limitNames)
	if c.kinds, err = parseCounters(raw.Counters, c.limitNames); err != nil {
		return nil, fmt.Errorf("plans: %s", err)
	}
	return c, nil
}

// buildPlan validates the i-th plan and expands its prices.
func (c *Catalog) buildPlan(i int, rp rawPlan, getenv func(string) string, priceOwner map[string]string) (Plan, error) {
	switch {
	case rp.ID == "":
		return Plan{}, fmt.Errorf("plans[%d]: id: missing", i)
	case !snakeCase.MatchString(rp.ID):
		return Plan{}, fmt.Errorf("plans[%d]: id: %q is not lower_snake_case", i, rp.ID)
	}
	if _, dup := c.byID[rp.ID]; dup {
		return Plan{}, fmt.Errorf("plan %q: id: defined more than once", rp.ID)
	}
	where := fmt.Sprintf("plan %q", rp.ID)
	if strings.ContainsFunc(rp.Name, unicode.IsControl) {
		return Plan{}, fmt.Errorf("%s: name: contains a control character", where)
	}
	if rp.TrialDays < 0 || rp.TrialDays > maxTrialDays {
		return Plan{}, fmt.Errorf("%s: trial_days: %d is not within 0..%d", where, rp.TrialDays, maxTrialDays)
	}
	p := Plan{ID: rp.ID, Name: rp.Name, TrialDays: rp.TrialDays, PriceIDs: map[string]string{}, Limits: map[string]*int{}}
	for _, e := range rp.Entitlements {
		if !snakeCase.MatchString(e) {
			return Plan{}, fmt.Errorf("%s: entitlements: %q is not lower_snake_case", where, e)
		}
		if slices.Contains(p.Entitlements, e) {
			return Plan{}, fmt.Errorf("%s: entitlements: %q is listed twice", where, e)
		}
		p.Entitlements = append(p.Entitlements, e)
	}
	for name, msg := range rp.Limits {
		if !snakeCase.MatchString(name) {
			return Plan{}, fmt.Errorf("%s: limits: name %q is not lower_snake_case", where, name)
		}
		var v *int
		if err := json.Unmarshal(msg, &v); err != nil {
			return Plan{}, fmt.Errorf("%s: limits.%s: %s is not an integer or null", where, name, msg)
		}
		if v != nil && *v < 0 {
			return Plan{}, fmt.Errorf("%s: limits.%s: %d is negative (use null for unlimited)", where, name, *v)
		}
		p.Limits[name] = v
	}

	if rp.ID == c.FreePlan {
		if rp.PriceIDs != nil && (rp.PriceIDs.Test != "" || rp.PriceIDs.Live != "") {
			return Plan{}, fmt.Errorf("%s: price_ids: the free plan must not have price ids", where)
		}
		if rp.LegacyPriceIDs != nil && (len(rp.LegacyPriceIDs.Test) > 0 || len(rp.LegacyPriceIDs.Live) > 0) {
			return Plan{}, fmt.Errorf("%s: legacy_price_ids: the free plan must not have price ids", where)
		}
		return p, nil
	}
	for _, mode := range []string{ModeTest, ModeLive} {
		field := where + ": price_ids." + mode
		rawPrice := rp.PriceIDs.get(mode)
		price, missing, err := expand(rawPrice, getenv)
		if err != nil {
			return Plan{}, fmt.Errorf("%s: %s", field, err)
		}
		if missing != "" {
			if mode == c.Mode {
				return Plan{}, fmt.Errorf("%s: environment variable %s is not set", field, missing)
			}
			continue // the other mode's price is not needed
		}
		if price == "" {
			if mode == c.Mode {
				return Plan{}, fmt.Errorf("%s: missing (a paid plan needs a price id for mode %q)", field, mode)
			}
			continue
		}
		if err := checkPriceID(price); err != nil {
			return Plan{}, fmt.Errorf("%s: %s", field, err)
		}
		if owner, dup := priceOwner[price]; dup {
			return Plan{}, fmt.Errorf("%s: price id %q is also used by %s", field, price, owner)
		}
		priceOwner[price] = fmt.Sprintf("plan %q price_ids.%s", rp.ID, mode)
		p.PriceIDs[mode] = price
	}
	legacy, err := c.legacyPrices(where, rp.LegacyPriceIDs, getenv, priceOwner)
	if err != nil {
		return Plan{}, err
	}
	p.LegacyPriceIDs = legacy
	return p, nil
}

// expand replaces every ${VAR} in s with getenv(VAR). When a variable is
// unset or empty it returns its name as missing (the first one).
func expand(s string, getenv func(string) string) (out, missing string, err error) {
	var b strings.Builder
	rest := s
	for {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		end := strings.IndexByte(rest, '}')
		if !strings.HasPrefix(rest, "${") || end < 0 || !envName.MatchString(rest[2:end]) {
			return "", "", fmt.Errorf("%q has a malformed variable reference (want ${NAME})", s)
		}
		name := rest[2:end]
		v := getenv(name)
		if v == "" && missing == "" {
			missing = name
		}
		b.WriteString(v)
		rest = rest[end+1:]
	}
	return b.String(), missing, nil
}

// checkPriceID checks the form of an expanded Stripe price ID.
func checkPriceID(price string) error {
	if strings.ContainsFunc(price, unicode.IsSpace) {
		return fmt.Errorf("price id %q contains whitespace", price)
	}
	for _, prefix := range []string{"price_", "plan_"} {
		if len(price) > len(prefix) && strings.HasPrefix(price, prefix) {
			return nil
		}
	}
	return fmt.Errorf("price id %q does not start with \"price_\" or \"plan_\"", price)
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data, and words the error without Go type names.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return fmt.Errorf("%s: expected %s, got JSON %s", typeErr.Field, jsonType(typeErr.Type.String()), typeErr.Value)
		case errors.As(err, &typeErr):
			return fmt.Errorf("expected a JSON object, got JSON %s", typeErr.Value)
		case errors.As(err, &syntaxErr):
			return fmt.Errorf("invalid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.EOF):
			return errors.New("empty document")
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// jsonType names a Go type of the raw structs as the JSON type it reads.
func jsonType(goType string) string {
	switch {
	case goType == "int" || goType == "*int":
		return "an integer"
	case goType == "string" || goType == "*string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// planLabel names the i-th plan for a decoding error: by its id when it has
// one, else by position.
func planLabel(i int, msg json.RawMessage) string {
	if id := probeID(msg); id != "" {
		return fmt.Sprintf("plan %q", id)
	}
	return fmt.Sprintf("plans[%d]", i)
}

// probeID returns the "id" of a plan entry when it is a string, else "".
func probeID(msg json.RawMessage) string {
	var probe struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(msg, &probe) != nil {
		return ""
	}
	id, _ := probe.ID.(string)
	return id
}

// pascal turns a lower_snake_case name into PascalCase ("race_11r" ->
// "Race11r"), the form used in the has* keys of the access response.
func pascal(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}
