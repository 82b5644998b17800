"""Reference data the rules read: the AEO registry and the watch lists, with their loaders."""
