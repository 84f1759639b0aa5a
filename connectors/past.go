package connectors

// Past is what a tracker shows of a stretch of a team's past, for
// `slipwatch backtest`: how many items the team completed each day, and
// the deliverables it delivered in that stretch with their items.
type Past struct {
	Team string
	// Daily[i] is the team's completed items on From+i, counted as
	// Throughput counts them, up to and including To.
	From, To Date
	Daily    []int
	// Deliverables are those delivered (closed, released, resolved) from
	// Since on, each with every item it held, open or done.
	Since        Date
	Deliverables []Deliverable
}
