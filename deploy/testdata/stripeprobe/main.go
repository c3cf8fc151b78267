// Command stripeprobe links stripe-go through shared/stripeclient, as the
// functions that call Stripe do. The no-stripe test builds it to prove that
// its detector sees stripe-go when it is there.
package main

import (
	"fmt"

	"billing/shared/stripeclient"
)

func main() {
	api := stripeclient.New("sk_test_probe", "", nil, nil)
	fmt.Println(api.Customers != nil)
}
