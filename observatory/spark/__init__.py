"""When one machine is not enough: the same indicator definitions on Apache Spark.

`translate` turns a definition's DuckDB SQL into Spark SQL (SQLGlot, the store's macros
expanded); `session` opens a Spark session after checking what it needs (a Java runtime,
a reachable master); `tables` writes the store's inputs as Parquet partitions and
registers them as Spark views; `engine` runs the definitions there for the registry's
engine; `regions` computes walking access region by region inside Spark. pyspark is an
optional dependency (`uv sync --extra spark`).
"""
