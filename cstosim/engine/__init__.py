"""Running replicates: seeding, chunks, processes, and the vectorised engine over the same rules
as the Mesa model. Imports ``cstosim.model`` and ``cstosim.language`` only."""
