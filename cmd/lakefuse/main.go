// Command lakefuse moves LLM-observability data between Langfuse projects,
// LangSmith bulk exports and a Hive-partitioned Parquet lake.
package main

import "os"

func main() {
	os.Exit(Do(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
