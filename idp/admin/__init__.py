"""The administration of the IdP, one module per resource (users, clients, keys,
sessions): what the `idp` command's verbs and the admin API (idp/admin_api) both call.
Each operation checks its input (errors.InvalidField names the field) and writes in one
unit of work, so that a refused change leaves nothing half-written."""
