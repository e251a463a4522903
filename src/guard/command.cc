#include "guard/command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guard/guard.h"
#include "util/text.h"

extern char** environ;

namespace colshift::guard {
namespace {

constexpr size_t kMaxOut = 64 * 1024;

// Closes a descriptor at scope end.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult res;
  if (argv.empty()) {
    res.error = "no program given";
    return res;
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills what it started too (sh -c's children).
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    res.error = fmt::format("cannot run '{}': {}", argv[0], std::strerror(rc));
    return res;
  }

  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.fd : -1, POLLIN, 0}, {err_open ? err_r.fd : -1, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& dst = i == 0 ? res.out : res.err;
      if (dst.size() < kMaxOut) dst.append(buf, static_cast<size_t>(got));
    }
  }
  int status = 0;
  if (res.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  } else {
    // Output closed; the program may still run (it closed stdout itself): wait up to the deadline.
    for (;;) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        res.ran = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        res.timed_out = true;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        break;
      }
      usleep(5000);
    }
  }
  if (!res.ran) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  res.err = trim(res.err);
  if (res.err.size() > 500) res.err = res.err.substr(0, 500) + "...";
  return res;
}

std::string read_command_number(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout, double& value) {
  auto r = run_command(argv, timeout);
  if (!r.error.empty()) return r.error;
  if (r.timed_out)
    return fmt::format("timed out after {} (killed)", human_duration(timeout.count() / 1000.0));
  if (r.exit_code != 0) {
    return r.err.empty() ? fmt::format("exited {}", r.exit_code)
                         : fmt::format("exited {}: {}", r.exit_code, r.err);
  }
  return parse_number(r.out, value);
}

}  // namespace colshift::guard
