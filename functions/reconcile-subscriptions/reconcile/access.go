package reconcile

import (
	"context"

	"billing/shared/access"
	"billing/shared/plans"
)

// track remembers the access of the user a change touches, before anything
// is written, and (for a dry run) the subscription as Stripe has it.
func (u *run) track(ctx context.Context, userID, subID string, stripe *State) error {
	if userID == "" {
		return nil
	}
	t, ok := u.users[userID]
	if !ok {
		st, err := u.r.Store.UserState(ctx, userID)
		if err != nil {
			return err
		}
		t = &userTrack{subs: st.AccessSubscriptions()}
		t.before = access.Compute(t.subs, u.r.Catalog, u.now)
		u.users[userID] = t
	}
	if stripe == nil {
		return nil
	}
	next := accessSub(subID, stripe)
	next.Livemode = u.r.Catalog.Mode == plans.ModeLive // reconcile reads its own mode only
	for i := range t.subs {
		if t.subs[i].ID == subID {
			t.subs[i] = next
			return nil
		}
	}
	t.subs = append(t.subs, next)
	return nil
}

// finishAccess lists the users whose access changed: after an applied run
// from the database, in a dry run from the subscriptions as Stripe has
// them.
func (u *run) finishAccess(ctx context.Context) error {
	for id, t := range u.users {
		after := access.Compute(t.subs, u.r.Catalog, u.now)
		if u.opt.Apply {
			st, err := u.r.Store.UserState(ctx, id)
			if err != nil {
				return err
			}
			after = access.Compute(st.AccessSubscriptions(), u.r.Catalog, u.now)
		}
		if !sameAccess(t.before, after) {
			u.rep.AccessChanged = append(u.rep.AccessChanged, id)
		}
	}
	return nil
}
