package middleware

import (
	"context"
	"log/slog"

	"github.com/consentry/consentry/tokencache"
)

// What anonymous requests write (pending flows, kept forms, loop counters)
// goes to Config.FlowStore, the tokens to Config.Cache. They must not share
// one memory budget: a flood of anonymous sign-ins would then evict users'
// tokens. In one process the default flow store is a bounded MemoryStore of
// its own. Outside the process (Redis), no eviction policy of a shared Redis
// protects the tokens, whose partitions carry TTLs too (volatile-* and
// allkeys-* policies evict them alike); only noeviction does, at the price of
// refusing new sign-ins while a flood fills the memory. So the deployment
// this package documents gives FlowStore a Redis server of its own (a
// separate redis-server: databases of one server share its maxmemory) with
// maxmemory and maxmemory-policy allkeys-lru, and the token Redis
// maxmemory-policy noeviction.

// warnSharedFlowStore logs, once at New, that the flow store is the token
// cache's out-of-process store, and what that costs.
func warnSharedFlowStore(log *slog.Logger, s *settings, cache *tokencache.Cache) {
	if s.FlowStore != nil {
		return
	}
	if ip, ok := cache.Store().(tokencache.InProcess); ok && ip.InProcess() {
		return
	}
	log.LogAttrs(context.Background(), slog.LevelWarn,
		"middleware: Config.FlowStore is not set: pending sign-ins and kept forms share the token cache's store, "+
			"so anonymous requests can fill its memory; give FlowStore a Redis of its own "+
			"(maxmemory-policy allkeys-lru) and run the token Redis with maxmemory-policy noeviction")
}
