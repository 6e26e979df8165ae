"""Business rules, one module per noun: plain functions taking the database (and the collaborators a
rule needs) and returning plain dicts. No Falcon here: tests call them without HTTP."""
