// Package channels holds the Channel contract, classified send errors and SMS
// segment counting.
//
// It imports nothing from this module so that every provider under
// channels/ and every domain package can depend on it without cycles.
package channels
