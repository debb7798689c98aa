package testserver

// Generate builds a World from opts.
func Generate(opts Options) *World {
	return &World{}
}

func (w *World) index() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byID = make(map[string]*Tenant, len(w.Tenants))
	for _, t := range w.Tenants {
		w.byID[t.ID] = t
	}
}
