package stripesync

// The readers of the two objects on the webhook's hot path, the event
// envelope and the subscription, over the single-pass scanner. They fill
// the same structs the encoding/json readers did (and the fuzz target
// FuzzReaders checks that both agree on every input without duplicate
// keys), so the meaning of a field is decided in one place: ParseEvent and
// ParseSubscription.

// rawEvent is what ParseEvent reads of an event.
type rawEvent struct {
	ID, Object, Type, APIVersion string
	Livemode                     bool
	Created                      unix
	// HasData is whether "data" was an object; Object is data.object's
	// bytes (nil when absent).
	HasData bool
	Data    []byte
	// Sub is data.object read as a subscription in the same pass, when it
	// read without an error (whatever its type: the caller decides).
	Sub *rawSubscription
}

var eventFields = newFieldNames("id", "object", "type", "api_version", "livemode", "created", "data")

// readEvent reads an event body into r; the whole body must be valid JSON.
func readEvent(b []byte, r *rawEvent) error {
	s := scanner{b: b}
	if null, err := s.isNull(); null || err != nil {
		if err != nil {
			return err
		}
		return s.end()
	}
	if s.peek() != '{' {
		if err := s.skip(); err != nil {
			return err
		}
		return s.typeErr("the event", "an object")
	}
	err := s.object(func(key []byte) error {
		switch canon(key, eventFields) {
		case "id":
			return s.str("id", &r.ID)
		case "object":
			return s.str("object", &r.Object)
		case "type":
			return s.str("type", &r.Type)
		case "api_version":
			return s.str("api_version", &r.APIVersion)
		case "livemode":
			return s.boolean("livemode", &r.Livemode)
		case "created":
			return s.timestamp("created", &r.Created)
		case "data":
			return s.readData(r)
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	return s.end()
}

var dataFields = newFieldNames("object")

func (s *scanner) readData(r *rawEvent) error {
	if obj, err := s.objectOrNull("data"); !obj {
		if err == nil {
			r.HasData, r.Data = false, nil
		}
		return err
	}
	r.HasData = true
	return s.object(func(key []byte) error {
		if canon(key, dataFields) == "" {
			return s.skip()
		}
		s.ws()
		start, depth := s.i, s.depth
		r.Sub = nil
		// The object is read as a subscription while it is checked, so
		// that a subscription event's object is not scanned twice; one
		// that does not read as one is checked again by skipping it.
		if s.peek() == '{' {
			sub := new(rawSubscription)
			if err := s.subscription(sub); err == nil {
				r.Sub, r.Data = sub, s.b[start:s.i]
				return nil
			}
			s.i, s.depth = start, depth
		}
		if err := s.skip(); err != nil {
			return err
		}
		r.Data = s.b[start:s.i]
		return nil
	})
}

var subscriptionFields = newFieldNames("id", "object", "customer", "status", "livemode", "metadata", "items",
	"plan", "quantity", "current_period_start", "current_period_end", "cancel_at", "canceled_at",
	"ended_at", "trial_start", "trial_end", "created", "start", "cancel_at_period_end",
	"cancellation_details")

// readSubscription reads a subscription object into r; the whole input
// must be valid JSON.
func readSubscription(b []byte, r *rawSubscription) error {
	s := scanner{b: b}
	if null, err := s.isNull(); null || err != nil {
		if err != nil {
			return err
		}
		return s.end()
	}
	if s.peek() != '{' {
		if err := s.skip(); err != nil {
			return err
		}
		return s.typeErr("the subscription", "an object")
	}
	if err := s.subscription(r); err != nil {
		return err
	}
	return s.end()
}

// subscription reads the subscription object at s.i into r.
func (s *scanner) subscription(r *rawSubscription) error {
	return s.object(func(key []byte) error {
		switch canon(key, subscriptionFields) {
		case "id":
			return s.str("id", &r.ID)
		case "object":
			return s.str("object", &r.Object)
		case "customer":
			return s.reference("customer", &r.Customer)
		case "status":
			return s.str("status", &r.Status)
		case "livemode":
			return s.boolean("livemode", &r.Livemode)
		case "metadata":
			return s.metadata(&r.Metadata)
		case "items":
			return s.items(r)
		case "plan":
			return s.idObject("plan", &r.Plan)
		case "quantity":
			return s.int64Ptr("quantity", &r.Quantity)
		case "current_period_start":
			return s.timestamp("current_period_start", &r.CurrentPeriodStart)
		case "current_period_end":
			return s.timestamp("current_period_end", &r.CurrentPeriodEnd)
		case "cancel_at":
			return s.timestamp("cancel_at", &r.CancelAt)
		case "canceled_at":
			return s.timestamp("canceled_at", &r.CanceledAt)
		case "ended_at":
			return s.timestamp("ended_at", &r.EndedAt)
		case "trial_start":
			return s.timestamp("trial_start", &r.TrialStart)
		case "trial_end":
			return s.timestamp("trial_end", &r.TrialEnd)
		case "created":
			return s.timestamp("created", &r.Created)
		case "start":
			return s.timestamp("start", &r.Start)
		case "cancel_at_period_end":
			return s.boolean("cancel_at_period_end", &r.CancelAtPeriodEnd)
		case "cancellation_details":
			return s.cancellationDetails(r)
		}
		return s.skip()
	})
}

// idObject reads an object of which only "id" matters ({"id": ...} or
// null, which sets nil), as a *struct{ID string} field.
func (s *scanner) idObject(field string, dst **struct {
	ID string `json:"id"`
}) error {
	if obj, err := s.objectOrNull(field); !obj {
		if err == nil {
			*dst = nil
		}
		return err
	}
	if *dst == nil {
		*dst = &struct {
			ID string `json:"id"`
		}{}
	}
	o := *dst
	return s.object(func(key []byte) error {
		if canon(key, idOnly) != "" {
			return s.str(field+".id", &o.ID)
		}
		return s.skip()
	})
}

// metadata reads Stripe metadata; only supabase_uid is kept (the one key
// billing reads; a map key matches exactly), and only when it is a string.
func (s *scanner) metadata(dst *metadata) error {
	if obj, err := s.objectOrNull("metadata"); !obj {
		if err == nil {
			*dst = nil
		}
		return err
	}
	return s.object(func(key []byte) error {
		if string(key) != "supabase_uid" {
			return s.skip()
		}
		if *dst == nil {
			*dst = metadata{}
		}
		if s.peek() != '"' {
			// A value of another type reads as "not a string".
			(*dst)["supabase_uid"] = nil
			return s.skip()
		}
		var v string
		if err := s.str("metadata.supabase_uid", &v); err != nil {
			return err
		}
		(*dst)["supabase_uid"] = v
		return nil
	})
}

var itemsFields = newFieldNames("data")

func (s *scanner) items(r *rawSubscription) error {
	if obj, err := s.objectOrNull("items"); !obj {
		if err == nil {
			r.Items = nil
		}
		return err
	}
	if r.Items == nil {
		r.Items = &struct {
			Data []rawItem `json:"data"`
		}{}
	}
	items := r.Items
	return s.object(func(key []byte) error {
		if canon(key, itemsFields) == "" {
			return s.skip()
		}
		switch s.peek() {
		case 'n':
			items.Data = nil
			return s.literal("null")
		case '[':
		default:
			if err := s.skip(); err != nil {
				return err
			}
			return s.typeErr("items.data", "an array")
		}
		// As encoding/json: the slice is reset to length zero, and an
		// empty array makes an empty slice, not nil.
		if items.Data == nil {
			items.Data = []rawItem{}
		} else {
			items.Data = items.Data[:0]
		}
		return s.array(func() error {
			var it rawItem
			if err := s.item(&it); err != nil {
				return err
			}
			items.Data = append(items.Data, it)
			return nil
		})
	})
}

var itemFields = newFieldNames("price", "plan", "quantity", "current_period_start", "current_period_end")

func (s *scanner) item(it *rawItem) error {
	if obj, err := s.objectOrNull("items.data[]"); !obj {
		return err
	}
	return s.object(func(key []byte) error {
		switch canon(key, itemFields) {
		case "price":
			return s.idObject("items.data[].price", &it.Price)
		case "plan":
			return s.idObject("items.data[].plan", &it.Plan)
		case "quantity":
			return s.int64Ptr("items.data[].quantity", &it.Quantity)
		case "current_period_start":
			return s.timestamp("items.data[].current_period_start", &it.CurrentPeriodStart)
		case "current_period_end":
			return s.timestamp("items.data[].current_period_end", &it.CurrentPeriodEnd)
		}
		return s.skip()
	})
}

var cancellationFields = newFieldNames("reason", "feedback", "comment")

func (s *scanner) cancellationDetails(r *rawSubscription) error {
	if obj, err := s.objectOrNull("cancellation_details"); !obj {
		if err == nil {
			r.CancellationDetails = nil
		}
		return err
	}
	if r.CancellationDetails == nil {
		r.CancellationDetails = &struct {
			Reason   *string `json:"reason"`
			Feedback *string `json:"feedback"`
			Comment  *string `json:"comment"`
		}{}
	}
	d := r.CancellationDetails
	return s.object(func(key []byte) error {
		switch canon(key, cancellationFields) {
		case "reason":
			return s.optStr("cancellation_details.reason", &d.Reason)
		case "feedback":
			return s.optStr("cancellation_details.feedback", &d.Feedback)
		case "comment":
			return s.optStr("cancellation_details.comment", &d.Comment)
		}
		return s.skip()
	})
}

// objectOrNull reads the start of a field that must be an object: true when
// one follows (not consumed), false with a nil error for a null (consumed),
// false with an error for any other value (skipped).
func (s *scanner) objectOrNull(field string) (bool, error) {
	switch s.peek() {
	case '{':
		return true, nil
	case 'n':
		return false, s.literal("null")
	}
	if err := s.skip(); err != nil {
		return false, err
	}
	return false, s.typeErr(field, "an object")
}
