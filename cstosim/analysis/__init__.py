"""Analysis of saved results: scoring against observations and paired comparison. Reads results
folders through ``cstosim.store``; draws nothing (figures live in ``cstosim.views``)."""
