package rotationhttp

// Limiters returns how many rate limiters a keeps, for tests of its bound.
func (a *Authenticator) Limiters() int { return a.limiters.len() }
