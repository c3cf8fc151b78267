package stripetest

// FailWhen is Fail for only the matching requests for which when returns
// true (a request for one customer, say), so that a test can make Stripe
// refuse one object and accept the next. ClearFailures removes it too.
func (p *Proxy) FailWhen(method, pathPrefix string, status int, stripeErr map[string]any, when func(Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, failure{method, pathPrefix, status, stripeErr, when})
}
