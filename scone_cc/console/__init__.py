"""The client of the console shield (runtime/shield/console/FORMAT.md):
``scone-console`` runs a program whose standard streams are encrypted, or
decrypts a captured stream, holding the session's private key."""
