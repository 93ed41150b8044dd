package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ApplyPending is the status of an apply run's target until its push is
// settled.
const ApplyPending = "pending"

// ApplyTarget is one changed target of an apply run: its part of the plan,
// then how its push went. See migration 00014.
type ApplyTarget struct {
	RunID  uint64 `gorm:"primaryKey;autoIncrement:false"`
	Target string `gorm:"primaryKey"`
	// Status is ApplyPending, then the push's outcome as the plan package
	// names it ("applied", "failed", "skipped", "not_pushed").
	Status     string `gorm:"not null;default:'pending'"`
	Error      string `gorm:"not null;default:''"`
	DurationNS int64  `gorm:"column:duration_ns;not null;default:0"`
	// Plan is the target's part of the plan (JSON), what its job pushes.
	Plan string `gorm:"not null;default:''"`
	// Seq numbers the run's targets in the order they were settled, from 1.
	Seq       int `gorm:"not null;default:0"`
	SettledAt *time.Time
}

// ApplyFinisher says how a run whose every target is settled ended: its
// status, its summary and the audit event recording its end. The store
// calls it in the transaction that settles the run's last target.
type ApplyFinisher func(run ApplyRun, targets []ApplyTarget) (status, summary string, e AuditEntry, err error)

// StartApplyFrom records an apply run, its targets and the jobs that push
// them, in one transaction: the apply is then durable, whichever worker
// runs the jobs. run.ID is set, and each job's payload may name it through
// payload(run.ID). Targets not pending are settled at once, in the order
// given; if none is pending the run is finished with finish.
//
// Starts are serialised across processes, and refused — nothing recorded —
// while another run has targets pending (an error wrapping
// ErrApplyInProgress), or when every target's recorded state is no longer
// base, the one the plan was judged against (ErrPlanStale). So of two
// plans made from one state, only the first applied starts.
func (s *Store) StartApplyFrom(ctx context.Context, base ApplyBase, run *ApplyRun, targets []ApplyTarget, payload func(runID uint64, t ApplyTarget) Job, finish ApplyFinisher) error {
	return s.startApply(ctx, &base, run, targets, payload, finish)
}

// StartApply is StartApplyFrom for a run not made from a plan (tests and
// tools that record runs by hand): it is refused while another run is
// pending, but checks no recorded state. Applies of a plan use
// StartApplyFrom (plan.StartApply).
func (s *Store) StartApply(ctx context.Context, run *ApplyRun, targets []ApplyTarget, payload func(runID uint64, t ApplyTarget) Job, finish ApplyFinisher) error {
	return s.startApply(ctx, nil, run, targets, payload, finish)
}

func (s *Store) startApply(ctx context.Context, base *ApplyBase, run *ApplyRun, targets []ApplyTarget, payload func(runID uint64, t ApplyTarget) Job, finish ApplyFinisher) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.checkApplyBase(tx, base); err != nil {
			return err
		}
		if err := tx.Create(run).Error; err != nil {
			return fmt.Errorf("recording the apply run: %w", err)
		}
		if base != nil {
			for _, e := range base.Audit {
				if _, err := s.Audit(tx, e); err != nil {
					return err
				}
			}
		}
		now := tx.NowFunc().UTC().Truncate(time.Microsecond)
		seq := 0
		var jobs []Job
		for _, t := range targets {
			t.RunID = run.ID
			if t.Status == "" {
				t.Status = ApplyPending
			}
			if t.Status == ApplyPending {
				jobs = append(jobs, payload(run.ID, t))
			} else {
				seq++
				t.Seq, t.SettledAt = seq, &now
			}
			if err := tx.Create(&t).Error; err != nil {
				return fmt.Errorf("recording target %s of apply run %d: %w", t.Target, run.ID, err)
			}
		}
		if err := enqueueJobs(tx, jobs...); err != nil {
			return err
		}
		return s.finishApplyIfDone(tx, run.ID, finish)
	})
}

// SettleApplyTarget records how target t.Target of run t.RunID went —
// once: settled says whether this call did, false when another worker had
// already. The call that settles a run's last target finishes the run with
// finish, in the same transaction.
func (s *Store) SettleApplyTarget(ctx context.Context, t ApplyTarget, finish ApplyFinisher) (settled bool, err error) {
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := s.lockRun(tx, t.RunID); err != nil {
			return err
		}
		seq, err := lastSeq(tx, t.RunID)
		if err != nil {
			return err
		}
		now := tx.NowFunc().UTC().Truncate(time.Microsecond)
		res := tx.Model(&ApplyTarget{}).Where("run_id = ? AND target = ? AND status = ?", t.RunID, t.Target, ApplyPending).
			Updates(map[string]any{"status": t.Status, "error": t.Error, "duration_ns": t.DurationNS, "seq": seq + 1, "settled_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		settled = true
		return s.finishApplyIfDone(tx, t.RunID, finish)
	})
	if err != nil {
		return false, fmt.Errorf("recording the push of target %s in apply run %d: %w", t.Target, t.RunID, err)
	}
	return settled, nil
}

// lockRun reads run id, locked for the rest of tx: the lock every settle
// and cancel of the run takes, so the last two to settle cannot each see
// the other still pending, and a cancel sees no settle half-done.
func (s *Store) lockRun(tx *gorm.DB, id uint64) (ApplyRun, error) {
	var run ApplyRun
	q := tx.Where("id = ?", id)
	if s.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Take(&run).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return run, fmt.Errorf("apply run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return run, fmt.Errorf("apply run %d: %w", id, err)
	}
	return run, nil
}

// lastSeq is the Seq of run id's last settled target, 0 for none.
func lastSeq(tx *gorm.DB, id uint64) (int, error) {
	var seq int
	err := tx.Model(&ApplyTarget{}).Where("run_id = ?", id).Select("COALESCE(MAX(seq), 0)").Scan(&seq).Error
	return seq, err
}

// finishApplyIfDone finishes run id when none of its targets is pending.
func (s *Store) finishApplyIfDone(tx *gorm.DB, id uint64, finish ApplyFinisher) error {
	var pending int64
	if err := tx.Model(&ApplyTarget{}).Where("run_id = ? AND status = ?", id, ApplyPending).Count(&pending).Error; err != nil {
		return err
	}
	if pending > 0 {
		return nil
	}
	var run ApplyRun
	if err := tx.Take(&run, id).Error; err != nil {
		return err
	}
	if run.FinishedAt != nil {
		return nil
	}
	var targets []ApplyTarget
	if err := tx.Omit("plan").Where("run_id = ?", id).Order("target").Find(&targets).Error; err != nil {
		return err
	}
	status, summary, e, err := finish(run, targets)
	if err != nil {
		return err
	}
	res := tx.Model(&ApplyRun{}).Where("id = ? AND finished_at IS NULL", id).
		Updates(map[string]any{"status": status, "summary": summary, "finished_at": tx.NowFunc().UTC().Truncate(time.Microsecond)})
	if res.Error != nil {
		return fmt.Errorf("recording the end of apply run %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return nil
	}
	_, err = s.Audit(tx, e)
	return err
}

// ApplyTargets returns the targets of run id without their plans, in the
// order they were settled (pending ones last, by name).
func (s *Store) ApplyTargets(ctx context.Context, id uint64) ([]ApplyTarget, error) {
	var out []ApplyTarget
	err := s.DB.WithContext(ctx).Omit("plan").Where("run_id = ?", id).
		Order(clause.OrderBy{Expression: clause.Expr{SQL: "CASE WHEN seq = 0 THEN 1 ELSE 0 END, seq, target"}}).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("reading the targets of apply run %d: %w", id, err)
	}
	return out, nil
}

// ApplyTargetOf returns target of run id with its plan; an error wrapping
// ErrNotFound when the run has no such target.
func (s *Store) ApplyTargetOf(ctx context.Context, id uint64, target string) (*ApplyTarget, error) {
	var t ApplyTarget
	err := s.DB.WithContext(ctx).Where("run_id = ? AND target = ?", id, target).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("target %s of apply run %d: %w", target, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading target %s of apply run %d: %w", target, id, err)
	}
	return &t, nil
}

// NewerApply returns the newest apply run after id that has target among
// its targets, or 0: an apply's push that has not started when a newer
// apply of the same target exists must not overwrite it. StartApplyFrom
// starts no run while another has targets pending, so this is a defence.
func (s *Store) NewerApply(ctx context.Context, id uint64, target string) (uint64, error) {
	var newer uint64
	err := s.DB.WithContext(ctx).Model(&ApplyTarget{}).Where("target = ? AND run_id > ?", target, id).
		Select("COALESCE(MAX(run_id), 0)").Scan(&newer).Error
	if err != nil {
		return 0, fmt.Errorf("looking for an apply of target %s newer than run %d: %w", target, id, err)
	}
	return newer, nil
}

// ApplyProgress is an apply run not finished yet, and how far it is.
type ApplyProgress struct {
	RunID     uint64    `json:"run_id"`
	PlanID    uint64    `json:"plan_id"`
	Actor     string    `json:"actor"`
	StartedAt time.Time `json:"started_at"`
	Targets   int       `json:"targets"`
	Pending   int       `json:"pending"`
}

// RunningApplies lists the apply runs not finished, oldest first, with
// how many of their targets are still pending.
func (s *Store) RunningApplies(ctx context.Context) ([]ApplyProgress, error) {
	var runs []ApplyRun
	if err := s.DB.WithContext(ctx).Where("finished_at IS NULL").Order("id").Find(&runs).Error; err != nil {
		return nil, fmt.Errorf("listing the applies in progress: %w", err)
	}
	out := make([]ApplyProgress, 0, len(runs))
	for _, r := range runs {
		var counts []struct {
			Status string
			N      int
		}
		if err := s.DB.WithContext(ctx).Model(&ApplyTarget{}).Select("status, COUNT(*) AS n").Where("run_id = ?", r.ID).Group("status").Scan(&counts).Error; err != nil {
			return nil, fmt.Errorf("counting the targets of apply run %d: %w", r.ID, err)
		}
		p := ApplyProgress{RunID: r.ID, PlanID: r.PlanID, Actor: r.Actor, StartedAt: r.StartedAt}
		for _, c := range counts {
			p.Targets += c.N
			if c.Status == ApplyPending {
				p.Pending += c.N
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// ErrApplyFinished is returned by CancelApply for a run already finished.
var ErrApplyFinished = errors.New("the apply run is finished")

// CancelApply cancels what is left of apply run id, in one transaction:
// each pending target whose push job has never started is settled
// "skipped" with why, and its job marked superseded, so nothing is sent to
// it; a push already running is left to end (cutting it half-way helps
// nobody) and settles as usual. So is a job queued again after an attempt
// (its push may have reached the device before the attempt failed — say,
// recording the result did): its retry finds what it did and settles it. The cancel is audited (apply.cancel); when no
// target is left pending the run is finished with finish. It returns the
// targets cancelled and those still pushing.
func (s *Store) CancelApply(ctx context.Context, id uint64, actor, why string, jobKey func(runID uint64, target string) string, finish ApplyFinisher) (cancelled, running []string, err error) {
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		run, err := s.lockRun(tx, id)
		if err != nil {
			return err
		}
		if run.FinishedAt != nil {
			return fmt.Errorf("apply run %d (%s at %s): %w", id, run.Status, run.FinishedAt.UTC().Format(time.RFC3339), ErrApplyFinished)
		}
		var pending []ApplyTarget
		if err := tx.Omit("plan").Where("run_id = ? AND status = ?", id, ApplyPending).Order("target").Find(&pending).Error; err != nil {
			return err
		}
		seq, err := lastSeq(tx, id)
		if err != nil {
			return err
		}
		now := tx.NowFunc().UTC().Truncate(time.Microsecond)
		for _, t := range pending {
			// Only a job queued and never attempted: a claimed one is
			// pushing now, a retried one may have pushed already.
			res := tx.Model(&Job{}).Where(`"key" = ? AND status = ? AND attempts = 0`, jobKey(id, t.Target), JobQueued).
				Updates(map[string]any{"status": JobSuperseded, "last_error": why, "finished_at": now, "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				running = append(running, t.Target)
				continue
			}
			seq++
			if err := tx.Model(&ApplyTarget{}).Where("run_id = ? AND target = ? AND status = ?", id, t.Target, ApplyPending).
				Updates(map[string]any{"status": "skipped", "error": why, "seq": seq, "settled_at": now}).Error; err != nil {
				return err
			}
			cancelled = append(cancelled, t.Target)
		}
		if _, err := s.Audit(tx, AuditEntry{Actor: actor, Action: "apply.cancel", Object: fmt.Sprintf("apply run %d", id),
			Detail: map[string]any{"cancelled": cancelled, "still_pushing": running, "plan_id": run.PlanID}}); err != nil {
			return err
		}
		return s.finishApplyIfDone(tx, id, finish)
	})
	if err != nil {
		return nil, nil, err
	}
	return cancelled, running, nil
}
