// bench_rusage OUT CMD ARGS...: runs CMD and writes "<wall seconds> <peak RSS KiB>"
// to OUT, like GNU time's -f "%e %M" (which a minimal Debian may lack). The
// peak is wait4's ru_maxrss: the largest resident set of CMD or any
// descendant it waited for. Exits with CMD's status.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_rusage OUT CMD [ARGS...]\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    std::perror("exec");
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  if (wait4(pid, &status, 0, &ru) < 0) return 2;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "%.2f %ld\n", secs, ru.ru_maxrss);
    std::fclose(f);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
