package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"wxtodo/errcode"
)

// translate maps a database error to errcode's: no rows is NOT_FOUND, a
// cancelled statement is TIMEOUT, a lost or refused connection (or
// SQLite's busy timeout running out) is SERVICE_UNAVAILABLE, a cancelled
// context stays itself; anything else is internal, and its text never
// reaches a client.
func translate(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &errcode.Error{Code: errcode.NotFound, Message: "not found", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case isQueryCanceled(err):
		// The request's deadline (or statement_timeout) cancelled it.
		return &errcode.Error{Code: errcode.Timeout, Message: "the request took too long", Err: err}
	case isUnavailable(err):
		return &errcode.Error{Code: errcode.Unavailable, Message: "the database is unavailable, try again", Err: err}
	}
	return err
}

func isQueryCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgerrcode.QueryCanceled
}

// isUnavailable reports whether err says the database cannot be used now,
// as opposed to refusing a statement.
func isUnavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		pe *pgconn.PgError
		se *sqlite.Error
		ne net.Error
	)
	switch {
	case errors.As(err, &ce):
		// Refused, unreachable, too many connections, bad password:
		// whatever the server said, there is no connection.
		return true
	case errors.As(err, &pe):
		return pgerrcode.IsConnectionException(pe.Code) ||
			pgerrcode.IsInsufficientResources(pe.Code) || // too many connections, disk full
			pe.Code == pgerrcode.AdminShutdown ||
			pe.Code == pgerrcode.CrashShutdown ||
			pe.Code == pgerrcode.CannotConnectNow
	case errors.As(err, &se):
		// The primary code is the low byte of an extended one.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true // the busy timeout ran out
		}
		return false
	}
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err)
}

// scrubURL drops a connection string (and its password) from err.
func scrubURL(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid PostgreSQL connection string")
	}
	return err
}

// isRetryable reports whether a transaction lost a race with another
// and may succeed when run again: a unique key another committed first,
// or (PostgreSQL) a row it referred to gone meanwhile, a deadlock or a
// serialization failure.
func isRetryable(err error) bool {
	var (
		pe *pgconn.PgError
		se *sqlite.Error
	)
	switch {
	case errors.As(err, &pe):
		switch pe.Code {
		case pgerrcode.UniqueViolation, pgerrcode.ForeignKeyViolation, pgerrcode.DeadlockDetected, pgerrcode.SerializationFailure:
			return true
		}
		return false
	case errors.As(err, &se):
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}
