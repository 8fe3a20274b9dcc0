"""Tutoring Impact's orchestration: the cycle's steps, the Dagster code location and the CLI."""
import warnings

# Great Expectations imports pyspark when it is installed (the `engines` extra); pyspark then warns on
# every start that it has not been tested with pandas 3. The pipeline never hands pandas to Spark.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
