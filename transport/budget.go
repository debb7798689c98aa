package transport

// Retry budget costs, as in aws-sdk-go-v2's retry.Standard token bucket.
const (
	// DefaultBudgetCapacity is the token count of a budget from NewBudget(0).
	DefaultBudgetCapacity = 500
	// RetryCost is taken for a retry after a 429, a 5xx or a dropped connection.
	RetryCost = 5
	// TimeoutCost is taken for a retry after a timeout: a timed-out call has already held a
	// connection and a server slot for the whole timeout.
	TimeoutCost = 10
	// SuccessRefund is returned by a success that needed no retry.
	SuccessRefund = 1
)

// BudgetStats are a budget's counters, for metrics and the soak harness.
type BudgetStats struct {
	Capacity  int
	Available int
	Retries   int64 // retries the budget paid for
	Refused   int64 // retries refused because the budget was empty
}

// Take pays cost tokens for one retry (RetryCost, or TimeoutCost after a timeout); false means
// the budget is empty and the retry must not happen. It is for HTTP stacks that retry: the
// service clients' stack calls it before every retry. A nil budget always allows.
func (b *Budget) Take(cost int) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.available < cost {
		b.refused++
		return false
	}
	b.available -= cost
	b.retries++
	return true
}

// TakeRetry pays for one retry a caller makes itself (a throttled item of a Graph $batch is
// retried by the graph client, not by Do); false means the budget is empty and the retry must
// not happen. A nil budget always allows.
func (b *Budget) TakeRetry() bool { return b.Take(RetryCost) }

// Refund refills the budget after a request that ended well: the cost of the retry that got
// it there (lastRetryCost), or SuccessRefund when none was needed (0), as aws-sdk-go-v2 does.
// A nil budget ignores it.
func (b *Budget) Refund(lastRetryCost int) {
	if b == nil {
		return
	}
	refund := SuccessRefund
	if lastRetryCost > 0 {
		refund = lastRetryCost
	}
	b.mu.Lock()
	b.available = min(b.capacity, b.available+refund)
	b.mu.Unlock()
}

// Stats returns the budget's counters.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return BudgetStats{Capacity: b.capacity, Available: b.available, Retries: b.retries, Refused: b.refused}
}
