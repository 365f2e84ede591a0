"""Reference solutions computed by classical numerical methods, for problems without a closed form."""
