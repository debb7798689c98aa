package store

import (
	"maps"
	"slices"
	"time"
)

// AssetState is the engine's asset reconcile state of one tenant: which asset each device is,
// the devices waiting for a person, the decisions people made, the asset writes that failed
// and the retirements the deletion guard holds. It lives in SyncState (stored as JSON by the
// SQL stores), so it needs no schema of its own; every writer of the state carries it forward.
type AssetState struct {
	// Links are the assets the engine created or linked, by device ID (the Intune device ID).
	// Only a linked asset is ever retired by the engine.
	Links map[string]AssetLink `json:"links,omitempty"`
	// Reviews are the devices, by ID, whose serial number matched more than one asset: none is
	// linked or created until a person decides (Engine.ResolveAssetReview).
	Reviews map[string]AssetReview `json:"reviews,omitempty"`
	// Decisions are the asset a person chose for a device, by device ID; they win over every
	// other match at every later sync.
	Decisions map[string]AssetDecision `json:"decisions,omitempty"`
	// Failures are the devices, by ID, whose asset write the PSA refused or failed; the next
	// sync tries again.
	Failures map[string]AssetFailure `json:"failures,omitempty"`
	// Hold is set while the deletion guard holds retirements: a devices listing omitted more
	// linked devices than the guard lets through, so no asset was retired. Kind is
	// tenantsync.KindDevices and IDs are the device IDs.
	Hold *DeletionHold `json:"hold,omitempty"`
}

// Clone returns a deep copy, so a caller may change it without touching s.
func (s AssetState) Clone() AssetState {
	out := AssetState{Links: maps.Clone(s.Links), Decisions: maps.Clone(s.Decisions), Failures: maps.Clone(s.Failures)}
	if s.Reviews != nil {
		out.Reviews = make(map[string]AssetReview, len(s.Reviews))
		for id, r := range s.Reviews {
			r.Candidates = slices.Clone(r.Candidates)
			out.Reviews[id] = r
		}
	}
	if s.Hold != nil {
		h := *s.Hold
		h.IDs = slices.Clone(h.IDs)
		out.Hold = &h
	}
	return out
}

// AssetLink is the asset a device is.
type AssetLink struct {
	AssetID  string    `json:"assetId"`
	LinkedAt time.Time `json:"linkedAt"`
	// By is who made the link: the engine's reconcile, or the person whose decision it follows.
	By string `json:"by,omitempty"`
	// RetiredAt is when the engine retired the asset because its device left the tenant; zero
	// while in service. A device that returns brings its asset back.
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}

// AssetReview is a device whose serial number and manufacturer matched several assets.
type AssetReview struct {
	DeviceID     string    `json:"deviceId"`
	DeviceName   string    `json:"deviceName,omitempty"`
	SerialNumber string    `json:"serialNumber,omitempty"`
	Manufacturer string    `json:"manufacturer,omitempty"`
	Candidates   []string  `json:"candidates"` // the asset IDs, sorted
	Reason       string    `json:"reason"`
	Since        time.Time `json:"since"`
}

// AssetDecision is a person's choice of asset for a device: AssetID, or a new asset (Create).
type AssetDecision struct {
	AssetID string    `json:"assetId,omitempty"`
	Create  bool      `json:"create,omitempty"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// AssetOp names the PSA call an asset failure is about.
type AssetOp string

// The PSA calls the engine makes for one device's asset.
const (
	AssetCreate     AssetOp = "create"
	AssetUpdate     AssetOp = "update"
	AssetRetire     AssetOp = "retire"
	AssetReactivate AssetOp = "reactivate"
)

// AssetFailure is one device whose asset could not be written.
type AssetFailure struct {
	DeviceID string    `json:"deviceId"`
	Op       AssetOp   `json:"op"`
	AssetID  string    `json:"assetId,omitempty"` // "" for a create
	Kind     string    `json:"kind"`              // tenantsync.ClassName of the error's class
	Message  string    `json:"message"`
	Hint     string    `json:"hint"`
	Attempts int       `json:"attempts"`
	LastAt   time.Time `json:"lastAt"`
}
