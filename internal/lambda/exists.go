package lambda

// FunctionExists reports whether a function named name exists, as this node's
// invoke cache (kept current by a store watch) sees it. The function log endpoint
// asks it so that `sluice logs --follow` on a function that has not run yet
// waits for its first lines instead of answering "no logs found".
func (s *Service) FunctionExists(name string) bool { return s.cache.get(name) != nil }
