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
// BenchmarkEncryptedRange times the first byte of a range far into an
// encrypted file, the first time and once checkpoints exist.
//
// CPU per byte (issue 14): BenchmarkCPUHTTP (share, nginx, python3 -m
// http.server), BenchmarkCPUFTP (share, vsftpd, pyftpdlib) and
// BenchmarkCPUEncrypt (share --recipient, gpg -e -z 0) report each server's
// CPU seconds per GiB sent and per 10,000 requests for 4 KiB, read from
// /proc/PID/stat over its whole process tree (nginx's workers, vsftpd's
// session processes), next to MB/s and requests/s, over interleaved rounds
// whose order rotates, as medians with their spread. Run all three (about
// 5 minutes on 2 quiet cores) and get the Markdown for RESULTS.md:
//
//	BENCH_MARKDOWN=/tmp/cpu.md go test -run '^$' -bench '^BenchmarkCPU' -timeout 30m ./bench
//
// Knobs: BENCH_ROUNDS (5), BENCH_DOWNLOADS (512 MiB downloads per server
// per round, 2), BENCH_DURATION (each wrk run, 3s), BENCH_FTP_REQUESTS
// (4 KiB FTP downloads per server per round, 2000). Without BENCH_MARKDOWN
// the tables go to stdout after the benchmark lines. They need curl, wrk,
// nginx, vsftpd, python3-pyftpdlib and gpg (Debian packages of those
// names, gnupg for gpg); the load of the machine is printed next to the
// figures, since other work on the same cores moves them.
//
// They build share from the module root once per test binary, or use the
// binary named by SHARE_BIN. CI compiles them (go test ./... runs no
// benchmark); nothing here asserts a speed.
package bench
