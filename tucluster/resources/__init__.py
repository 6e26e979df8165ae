"""HTTP resources, one module per noun: parse (schemas) -> call a service or the store -> serialize.
Every route is listed in ``tucluster.app``."""
