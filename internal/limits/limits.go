// Package limits holds the Workers KV limits the client checks before it sends a request.
package limits

const (
	// MaxKeyBytes is the longest key name, in bytes.
	MaxKeyBytes = 512
	// MaxValueBytes is the largest value, in bytes (25 MiB).
	MaxValueBytes = 25 << 20
	// MaxMetadataBytes is the largest serialized metadata JSON, in bytes.
	MaxMetadataBytes = 1024
	// MinTTLSeconds is the shortest expiration TTL, and how far ahead an absolute expiration must be.
	MinTTLSeconds = 60
	// MaxTitleBytes is the longest namespace title.
	MaxTitleBytes = 512
	// MinListLimit and MaxListLimit bound the limit of a key list page.
	MinListLimit = 10
	MaxListLimit = 1000
	// MaxBulkWriteItems is the most pairs in one bulk write request.
	MaxBulkWriteItems = 10000
	// MaxBulkWriteBytes bounds the JSON body of one bulk write request (kept under 100 MB).
	MaxBulkWriteBytes = 100_000_000 - 1
	// MaxBulkDeleteItems is the most keys in one bulk delete request.
	MaxBulkDeleteItems = 10000
	// MaxBulkGetItems is the most keys in one bulk get request.
	MaxBulkGetItems = 100
	// MaxErrorBody is how much of an error response body is read.
	MaxErrorBody = 1 << 20
)
