"""File formats the platform reads and writes: model archives, control files and their validation,
ESRI ASCII grids, typed tables and their statistics, request media types. No Falcon, no pymongo:
the engines import these too."""
