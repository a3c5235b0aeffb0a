"""Indicator drafts made in the app: a form that writes the definition, the same
validation as the CLI, a preview in the sandbox, versions and comments in the operational
database, and the export that `observatory indicators import-draft` writes into the
repository's indicator folder."""
