// Package bench measures share against nginx, side by side, on loopback.
//
// Two forms measure the same three things over one folder on tmpfs served by
// both servers at once: requests/s for a 4 KiB file, requests/s for the
// listing of a folder of 10,000 files, and the throughput of one 512 MiB
// download. The script bench/run drives wrk and curl; its Markdown output is
// committed as bench/RESULTS.md. The Go benchmarks of this package drive both
// servers with net/http over keep-alive connections:
//
//	go test -run '^$' -bench '^Benchmark(File4K|Listing10k|Download512M)$' ./bench
//
// Each reports share and nginx as sub-benchmarks (BenchmarkFile4K/share,
// BenchmarkFile4K/nginx), with requests/s as a metric of its own. For
// interleaved samples to compare with benchstat, run that command several
// times with -count 1 and append the outputs to one file.
//
// BenchmarkTLS compares HTTPS (--tls) with HTTP in one run over the same
// files (4 KiB rate, 512 MiB download); it needs no nginx.
//
// BenchmarkEncryptedDownload compares an encrypted download with gpg, and
// BenchmarkEncryptedRange times the first byte of a range far into an
// encrypted file, the first time and once checkpoints exist.
//
// They build share from the module root once per test binary, or use the
// binary named by SHARE_BIN. CI compiles them (go test ./... runs no
// benchmark); nothing here asserts a speed.
package bench
