package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
)

// sendPath is SendGrid's v3 Mail Send endpoint.
const sendPath = "/v3/mail/send"

// sendgridClient posts v3 Mail Send requests with sendgrid-go, to an API
// base that tests and local development can replace (SENDGRID_API_BASE).
type sendgridClient struct {
	key  string
	base string
	http *http.Client
}

// send posts m. A 2xx status is success; any other status, or no answer,
// is an error whose text carries SendGrid's messages (the caller redacts
// addresses). The status is 0 when SendGrid did not answer.
func (c *sendgridClient) send(ctx context.Context, m *sgmail.SGMailV3) (int, error) {
	req := sendgrid.GetRequest(c.key, sendPath, c.base)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(m)
	client := &rest.Client{HTTPClient: c.http}
	res, err := client.SendWithContext(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("sendgrid: no answer: %w", err)
	}
	if res.StatusCode/100 == 2 {
		return res.StatusCode, nil
	}
	return res.StatusCode, fmt.Errorf("sendgrid: HTTP %d%s", res.StatusCode, errorMessages(res.Body))
}

// sendgridErrors is SendGrid's error body.
type sendgridErrors struct {
	Errors []struct {
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"errors"`
}

// errorMessages returns ": message (field); ..." from a SendGrid error
// body, or "" when the body holds none.
func errorMessages(body string) string {
	var e sendgridErrors
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	var parts []string
	for _, x := range e.Errors {
		p := strings.TrimSpace(x.Message)
		if x.Field != "" {
			p += " (" + x.Field + ")"
		}
		parts = append(parts, p)
	}
	return ": " + cut(strings.Join(parts, "; "), 800)
}

// message builds the SendGrid message for a claimed row: the kind's dynamic
// template when one is configured, else the built-in text in locale.
func (s *Sender) message(row outboxRow, locale string) (*sgmail.SGMailV3, error) {
	data, err := parseData(row.TemplateData)
	if err != nil {
		return nil, fmt.Errorf("outbox %d: template_data: %w", row.ID, err)
	}
	v := s.view(row.Kind, locale, data)

	m := sgmail.NewV3Mail()
	m.SetFrom(sgmail.NewEmail(s.cfg.FromName, s.cfg.From))
	m.AddCategories(row.Kind)
	m.SetCustomArg("outbox_id", strconv.FormatInt(row.ID, 10))
	m.SetCustomArg("kind", row.Kind)
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail("", row.Email))

	if id := s.cfg.Templates[row.Kind]; id != "" {
		m.SetTemplateID(id)
		for k, val := range v.dynamicData(data) {
			p.SetDynamicTemplateData(k, val)
		}
	} else {
		r, err := render(row.Kind, locale, v)
		if err != nil {
			return nil, err
		}
		m.Subject = r.Subject
		m.AddContent(sgmail.NewContent("text/plain", r.Text), sgmail.NewContent("text/html", r.HTML))
	}
	m.AddPersonalizations(p)
	return m, nil
}

// parseData decodes template_data; null or empty is an empty object.
func parseData(raw json.RawMessage) (map[string]any, error) {
	data := map[string]any{}
	if len(raw) == 0 || string(raw) == "null" {
		return data, nil
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	return data, nil
}
