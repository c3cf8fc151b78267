package plans

import "fmt"

// rawLegacyPrices is a plan's "legacy_price_ids": per mode, the prices the
// plan was sold at before (grandfathered subscriptions still pay them),
// before ${VAR} expansion:
//
//	"legacy_price_ids": {"test": ["price_old_test"], "live": ["${STRIPE_STANDARD_2025_PRICE_ID_LIVE}"]}
type rawLegacyPrices struct {
	Test []string `json:"test"`
	Live []string `json:"live"`
}

func (r *rawLegacyPrices) get(mode string) []string {
	if r == nil {
		return nil
	}
	if mode == ModeLive {
		return r.Live
	}
	return r.Test
}

// legacyPrices validates and expands a plan's legacy prices. A legacy
// price is a price like any other (it must be unique in the catalog); one
// whose variable is unset is an error only in the catalog's own mode. The
// free plan may list none.
func (c *Catalog) legacyPrices(where string, r *rawLegacyPrices, getenv func(string) string, priceOwner map[string]string) (map[string][]string, error) {
	if r == nil {
		return nil, nil
	}
	out := map[string][]string{}
	for _, mode := range []string{ModeTest, ModeLive} {
		for i, raw := range r.get(mode) {
			field := fmt.Sprintf("%s: legacy_price_ids.%s[%d]", where, mode, i)
			price, missing, err := expand(raw, getenv)
			if err != nil {
				return nil, fmt.Errorf("%s: %s", field, err)
			}
			if missing != "" || price == "" {
				if mode == c.Mode {
					if missing == "" {
						return nil, fmt.Errorf("%s: empty", field)
					}
					return nil, fmt.Errorf("%s: environment variable %s is not set", field, missing)
				}
				continue
			}
			if err := checkPriceID(price); err != nil {
				return nil, fmt.Errorf("%s: %s", field, err)
			}
			if owner, dup := priceOwner[price]; dup {
				return nil, fmt.Errorf("%s: price id %q is also used by %s", field, price, owner)
			}
			priceOwner[price] = fmt.Sprintf("%s legacy_price_ids.%s", where, mode)
			out[mode] = append(out[mode], price)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
