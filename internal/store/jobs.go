package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Job statuses. A job is queued until a worker claims it (running), then
// done, queued again for a retry, or failed after its last attempt (kept
// for the operator). A queued job replaced by a newer one with the same key
// is superseded.
const (
	JobQueued     = "queued"
	JobRunning    = "running"
	JobDone       = "done"
	JobFailed     = "failed"
	JobSuperseded = "superseded"
)

// ErrJobLost is returned when a worker finishes a job it no longer holds:
// another process judged the claim stale and took the job over.
var ErrJobLost = errors.New("the job is no longer held by this worker")

// SQLDB returns the database handle under the store, for what gorm cannot
// express: a connection pinned for a PostgreSQL session advisory lock
// (internal/jobs). Queries belong in store methods.
func (s *Store) SQLDB() (*sql.DB, error) { return s.DB.DB() }

// EnqueueJobs adds jobs to the queue in one transaction. Jobs with a Key
// that already has a queued job are skipped: the waiting job will do the
// same work. A zero RunAt means now.
//
// The waiting job is locked until the transaction ends (a no-op update of
// it), and ClaimJob does not claim it, or anything behind it, meanwhile:
// run before the decision committed, it would read the store without it,
// and nothing queued would be left to act on the decision.
func (s *Store) EnqueueJobs(ctx context.Context, jobs ...Job) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return enqueueJobs(tx, jobs...) })
}

// enqueueJobs is EnqueueJobs inside the caller's transaction, so that work
// is committed with the decision that causes it, or not at all.
func enqueueJobs(tx *gorm.DB, jobs ...Job) error {
	now := tx.NowFunc().UTC().Truncate(time.Microsecond)
	for _, j := range jobs {
		if j.Kind == "" || j.Target == "" {
			return fmt.Errorf("enqueue job %q for target %q: a job needs a kind and a target", j.Kind, j.Target)
		}
		j.ID = 0
		j.Status = JobQueued
		j.Attempts = 0
		j.LockedBy, j.LockedAt, j.LastError, j.FinishedAt = "", nil, "", nil
		if j.RunAt.IsZero() {
			j.RunAt = now
		}
		j.RunAt = j.RunAt.UTC().Truncate(time.Microsecond)
		j.CreatedAt, j.UpdatedAt = now, now
		err := tx.Clauses(clause.OnConflict{
			Columns:     []clause.Column{{Name: "key"}},
			TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: `status = 'queued' AND "key" <> ''`}}},
			DoUpdates:   clause.AssignmentColumns([]string{"updated_at"}),
		}).Create(&j).Error
		if err != nil {
			return fmt.Errorf("enqueue %s job for target %q: %w", j.Kind, j.Target, err)
		}
	}
	return nil
}

// ClaimOptions says what ClaimJob may take.
type ClaimOptions struct {
	Target string
	Worker string   // recorded as LockedBy
	Kinds  []string // the kinds this worker has handlers for
	Now    time.Time
	// MaxAttempts fails, instead of re-queueing, a job left running by a
	// worker that stopped if it has had this many attempts.
	MaxAttempts int
	// KindMaxAttempts overrides MaxAttempts for the kinds it names.
	KindMaxAttempts map[string]int
	// GaveUp, when set, is told of each job left running by a worker that
	// stopped with its attempts used up, before the claim: its handler
	// never ran for that attempt, so the caller may have to settle what
	// the job was for. The job is held by this claim meanwhile and failed
	// for good once GaveUp returns nil; after an error it stays running,
	// to be given up again by a later claim — so GaveUp may be told of a
	// job more than once.
	GaveUp func(j Job, why string) error
	// GiveUpAgainAfter is how long a job this Worker failed to give up
	// waits before this Worker tries again (another worker tries at once).
	GiveUpAgainAfter time.Duration
	// MaxBackoff bounds a retry's delay: a retry due further ahead than
	// this means the wall clock went back, and it runs now.
	MaxBackoff time.Duration
}

// ClaimJob takes the oldest queued job of o.Target among o.Kinds if it is
// due, marking it running. Jobs of one target run in ID order: a job
// waiting for a retry holds back the ones behind it. It returns nil, nil
// when nothing is due.
//
// The caller must own the target (internal/jobs.Owner) and run nothing
// else of it: then a job of the target still marked running was left by a
// worker that stopped (killed, lost its ownership), and is queued again —
// or failed, if it used up its attempts — before the claim.
func (s *Store) ClaimJob(ctx context.Context, o ClaimOptions) (*Job, error) {
	if len(o.Kinds) == 0 {
		return nil, nil
	}
	now := o.Now.UTC().Truncate(time.Microsecond)
	var exhausted []Job
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		exhausted, err = requeueStale(tx, o, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim a job of target %q: %w", o.Target, err)
	}
	if err := s.giveUp(ctx, o, exhausted); err != nil {
		return nil, fmt.Errorf("claim a job of target %q: %w", o.Target, err)
	}
	var claimed *Job
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("target = ? AND status = ? AND kind IN ?", o.Target, JobQueued, o.Kinds).Order("id").Limit(1)
		if s.dialect == Postgres {
			// The owner makes this the only claimer of the target;
			// SKIP LOCKED keeps a claim from waiting behind a
			// transaction that holds a row.
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var j Job
		err = q.Take(&j).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if first, err := oldestQueued(tx, o); err != nil || first != j.ID {
			// An older job was skipped as locked: a decision is
			// enqueueing its work into it (enqueueJobs). It runs once
			// that commits, and the jobs behind it after it.
			return err
		}
		if !jobDue(j, now, o.MaxBackoff) {
			return nil
		}
		res := tx.Model(&Job{}).Where("id = ? AND status = ?", j.ID, JobQueued).Updates(map[string]any{
			"status": JobRunning, "attempts": j.Attempts + 1, "locked_by": o.Worker, "locked_at": now, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			j.Status, j.Attempts, j.LockedBy, j.LockedAt, j.UpdatedAt = JobRunning, j.Attempts+1, o.Worker, &now, now
			claimed = &j
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim a job of target %q: %w", o.Target, err)
	}
	return claimed, nil
}

// givingUp starts the last error of a job kept running until its give-up
// is settled; the reason follows.
const givingUp = "giving up: "

// giveUp fails for good each job requeueStale kept for it, once o.GaveUp
// has settled what the job was for; a job whose GaveUp failed stays
// running, held by o.Worker.
func (s *Store) giveUp(ctx context.Context, o ClaimOptions, exhausted []Job) error {
	for _, j := range exhausted {
		why := strings.TrimPrefix(j.LastError, givingUp)
		if o.GaveUp != nil && o.GaveUp(j, why) != nil {
			continue // the caller reported it; a later claim tries again
		}
		if err := s.FailJob(ctx, j, why); err != nil && !errors.Is(err, ErrJobLost) {
			return err
		}
	}
	return nil
}

// HoldJobForGiveUp keeps a job claimed by j.LockedBy running, with why it
// is given up, when settling what it was for failed: a later claim of its
// target (ClaimOptions.GaveUp) tries again, so the job's purpose is not
// lost with a failed status.
func (s *Store) HoldJobForGiveUp(ctx context.Context, j Job, why string) error {
	res := s.DB.WithContext(ctx).Model(&Job{}).Where("id = ? AND status = ? AND locked_by = ?", j.ID, JobRunning, j.LockedBy).
		Updates(map[string]any{"last_error": givingUp + why, "locked_at": s.Now(), "updated_at": s.Now()})
	if res.Error != nil {
		return fmt.Errorf("keeping job %d (%s for target %q) to give it up again: %w", j.ID, j.Kind, j.Target, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("job %d (%s for target %q), claimed by %s: %w", j.ID, j.Kind, j.Target, j.LockedBy, ErrJobLost)
	}
	return nil
}

// oldestQueued returns the ID of o.Target's oldest queued job among
// o.Kinds, locked or not.
func oldestQueued(tx *gorm.DB, o ClaimOptions) (uint64, error) {
	var ids []uint64
	err := tx.Model(&Job{}).Where("target = ? AND status = ? AND kind IN ?", o.Target, JobQueued, o.Kinds).
		Order("id").Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

// jobDue reports whether a queued job may run at now. A job enqueued to
// run at once (RunAt not after CreatedAt) is due whatever the clock says,
// so that a clock set back does not hold it for hours.
func jobDue(j Job, now time.Time, maxBackoff time.Duration) bool {
	switch {
	case !j.RunAt.After(now), !j.RunAt.After(j.CreatedAt):
		return true
	case j.Attempts > 0 && maxBackoff > 0 && j.RunAt.After(now.Add(maxBackoff)):
		return true // a retry further ahead than any backoff: the clock went back
	}
	return false
}

// requeueStale queues again the target's jobs left running, and returns,
// held by o.Worker and still running, those whose attempts are used up:
// they are failed for good only once their give-up is settled (giveUp).
// Only jobs of o.Kinds: a worker without a kind's handler knows neither
// its attempts nor its give-up, and a worker that has them visits the
// target (DueTargets).
func requeueStale(tx *gorm.DB, o ClaimOptions, now time.Time) ([]Job, error) {
	var stale []Job
	if err := tx.Where("target = ? AND status = ? AND kind IN ?", o.Target, JobRunning, o.Kinds).Order("id").Find(&stale).Error; err != nil {
		return nil, err
	}
	var exhausted []Job
	for _, j := range stale {
		why := fmt.Sprintf("claimed by %s at %s, which stopped before finishing it", j.LockedBy, fmtTime(j.LockedAt))
		limit := o.MaxAttempts
		if n, ok := o.KindMaxAttempts[j.Kind]; ok {
			limit = n
		}
		if limit <= 0 || j.Attempts < limit {
			if err := settleJob(tx, j, JobQueued, why, now, now); err != nil {
				return nil, err
			}
			continue
		}
		if w, ok := strings.CutPrefix(j.LastError, givingUp); ok {
			if j.LockedBy == o.Worker && j.LockedAt != nil && now.Sub(*j.LockedAt).Abs() < o.GiveUpAgainAfter {
				continue // this worker's give-up failed a moment ago
			}
			why = w
		} else {
			why += fmt.Sprintf("; gave up after %d attempts", j.Attempts)
		}
		res := tx.Model(&Job{}).Where("id = ? AND status = ? AND locked_by = ?", j.ID, JobRunning, j.LockedBy).
			Updates(map[string]any{"locked_by": o.Worker, "locked_at": now, "last_error": givingUp + why, "updated_at": now})
		if res.Error != nil {
			return nil, fmt.Errorf("job %d (%s for target %q): %w", j.ID, j.Kind, j.Target, res.Error)
		}
		if res.RowsAffected == 1 {
			j.LockedBy, j.LockedAt, j.LastError = o.Worker, &now, givingUp+why
			exhausted = append(exhausted, j)
		}
	}
	return exhausted, nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// settleJob moves a job from running to status (queued for a retry at
// runAt, done or failed), provided it is still running under the same
// claim. A retry whose key already has a queued job is superseded by it.
func settleJob(tx *gorm.DB, j Job, status, lastError string, runAt, now time.Time) error {
	upd := map[string]any{"status": status, "locked_by": "", "locked_at": nil, "last_error": lastError, "updated_at": now}
	switch status {
	case JobQueued:
		upd["run_at"] = runAt
		if j.Key != "" {
			var n int64
			if err := tx.Model(&Job{}).Where(`"key" = ? AND status = ? AND id <> ?`, j.Key, JobQueued, j.ID).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				upd["status"], upd["finished_at"] = JobSuperseded, now
			}
		}
	default:
		upd["finished_at"] = now
	}
	res := tx.Model(&Job{}).Where("id = ? AND status = ? AND locked_by = ?", j.ID, JobRunning, j.LockedBy).Updates(upd)
	if res.Error != nil {
		return fmt.Errorf("job %d (%s for target %q): %w", j.ID, j.Kind, j.Target, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("job %d (%s for target %q), claimed by %s: %w", j.ID, j.Kind, j.Target, j.LockedBy, ErrJobLost)
	}
	return nil
}

// CompleteJob marks a job claimed by j.LockedBy done. ErrJobLost means
// another worker took it over meanwhile.
func (s *Store) CompleteJob(ctx context.Context, j Job) error {
	now := s.Now()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return settleJob(tx, j, JobDone, "", now, now)
	})
}

// TouchJob renews the claim of a job claimed by j.LockedBy and still
// running, as of now, so that other workers see its worker is alive.
func (s *Store) TouchJob(ctx context.Context, j Job, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	err := s.DB.WithContext(ctx).Model(&Job{}).Where("id = ? AND status = ? AND locked_by = ?", j.ID, JobRunning, j.LockedBy).
		Update("locked_at", now).Error
	if err != nil {
		return fmt.Errorf("renewing the claim of job %d (%s for target %q): %w", j.ID, j.Kind, j.Target, err)
	}
	return nil
}

// RetryJob queues a job claimed by j.LockedBy again, to run at runAt, and
// records why it failed. If a job with the same key was queued meanwhile,
// this one is superseded by it instead.
func (s *Store) RetryJob(ctx context.Context, j Job, lastError string, runAt time.Time) error {
	now := s.Now()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return settleJob(tx, j, JobQueued, lastError, runAt.UTC().Truncate(time.Microsecond), now)
	})
}

// FailJob marks a job claimed by j.LockedBy failed for good; it stays for
// the operator to see.
func (s *Store) FailJob(ctx context.Context, j Job, lastError string) error {
	now := s.Now()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return settleJob(tx, j, JobFailed, lastError, now, now)
	})
}

// DueTargets lists the targets a worker should visit at now: those whose
// oldest queued job (of kinds) is due, and those with a job (of kinds)
// left running longer than staleAfter (or dated in the future by more than that: the
// clock went back), whose worker may have died. Sorted by name.
func (s *Store) DueTargets(ctx context.Context, kinds []string, now time.Time, staleAfter, maxBackoff time.Duration) ([]string, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	var heads []Job
	err := s.DB.WithContext(ctx).
		Where("status = ? AND kind IN ? AND id IN (?)", JobQueued, kinds,
			s.DB.Model(&Job{}).Select("MIN(id)").Where("status = ? AND kind IN ?", JobQueued, kinds).Group("target")).
		Find(&heads).Error
	if err != nil {
		return nil, fmt.Errorf("list targets with due jobs: %w", err)
	}
	seen := map[string]bool{}
	for _, j := range heads {
		if jobDue(j, now, maxBackoff) {
			seen[j.Target] = true
		}
	}
	var running []Job
	if err := s.DB.WithContext(ctx).Where("status = ? AND kind IN ?", JobRunning, kinds).Find(&running).Error; err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	for _, j := range running {
		if j.LockedAt == nil || now.Sub(*j.LockedAt) > staleAfter || j.LockedAt.Sub(now) > staleAfter {
			seen[j.Target] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// ListJobs returns jobs with status (all when ""), oldest first.
func (s *Store) ListJobs(ctx context.Context, status string) ([]Job, error) {
	q := s.DB.WithContext(ctx).Order("id")
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []Job
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// QueuedJobs returns up to limit queued jobs of kind for target, oldest
// first: what a worker may batch with the job it runs, without reading
// every other target's queue.
func (s *Store) QueuedJobs(ctx context.Context, target, kind string, limit int) ([]Job, error) {
	var out []Job
	err := s.DB.WithContext(ctx).Where("status = ? AND target = ? AND kind = ?", JobQueued, target, kind).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list the queued %s jobs of target %q: %w", kind, target, err)
	}
	return out, nil
}

// JobBacklog counts the jobs not yet finished (queued or running) per
// target.
func (s *Store) JobBacklog(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Target string
		N      int
	}
	err := s.DB.WithContext(ctx).Model(&Job{}).Select("target, COUNT(*) AS n").
		Where("status IN ?", []string{JobQueued, JobRunning}).Group("target").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count the job backlog: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Target] = r.N
	}
	return out, nil
}

// PruneJobs deletes finished jobs (done or superseded) that finished
// before before; failed jobs stay for the operator.
func (s *Store) PruneJobs(ctx context.Context, before time.Time) (int64, error) {
	res := s.DB.WithContext(ctx).Where("status IN ? AND finished_at < ?", []string{JobDone, JobSuperseded}, before.UTC()).Delete(&Job{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune finished jobs: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// PruneJobsOfKind deletes kind's finished jobs — done, superseded and
// failed — that finished before before: for work redone on a schedule,
// whose next job stands for a failed one.
func (s *Store) PruneJobsOfKind(ctx context.Context, kind string, before time.Time) (int64, error) {
	res := s.DB.WithContext(ctx).Where("kind = ? AND status IN ? AND finished_at < ?", kind, []string{JobDone, JobSuperseded, JobFailed}, before.UTC()).Delete(&Job{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune finished %s jobs: %w", kind, res.Error)
	}
	return res.RowsAffected, nil
}

// RenewTargetLease bumps the renewal counter and expiry of the lease on
// target if token still holds it; false means it was taken over.
func (s *Store) RenewTargetLease(ctx context.Context, target, token string, expires time.Time) (bool, error) {
	res := s.DB.WithContext(ctx).Model(&TargetOwner{}).Where("target = ? AND token = ?", target, token).
		Updates(map[string]any{"renewals": gorm.Expr("renewals + 1"), "expires_at": expires.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("renew the lease on target %q: %w", target, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseTargetLease deletes the lease on target if token still holds it.
func (s *Store) ReleaseTargetLease(ctx context.Context, target, token string) error {
	if err := s.DB.WithContext(ctx).Where("target = ? AND token = ?", target, token).Delete(&TargetOwner{}).Error; err != nil {
		return fmt.Errorf("release the lease on target %q: %w", target, err)
	}
	return nil
}

// PutTargetOwner records who holds target (PostgreSQL: beside the
// advisory lock), replacing any earlier note — one left by a dead holder
// included.
func (s *Store) PutTargetOwner(ctx context.Context, o TargetOwner) error {
	err := s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "target"}},
		UpdateAll: true,
	}).Create(&o).Error
	if err != nil {
		return fmt.Errorf("record the holder of target %q: %w", o.Target, err)
	}
	return nil
}

// TargetOwnerOf returns the recorded holder of target, or ErrNotFound.
func (s *Store) TargetOwnerOf(ctx context.Context, target string) (TargetOwner, error) {
	var o TargetOwner
	err := s.DB.WithContext(ctx).Where("target = ?", target).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("read the holder of target %q: %w", target, err)
	}
	return o, nil
}

// ListTargetOwners returns every recorded holder, by target.
func (s *Store) ListTargetOwners(ctx context.Context) ([]TargetOwner, error) {
	var out []TargetOwner
	if err := s.DB.WithContext(ctx).Order("target").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list target holders: %w", err)
	}
	return out, nil
}

// DeleteTargetOwner removes the note on target if token wrote it.
func (s *Store) DeleteTargetOwner(ctx context.Context, target, token string) error {
	return s.ReleaseTargetLease(ctx, target, token)
}
