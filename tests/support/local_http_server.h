#pragma once
// Starts tests/support/range_server.py on 127.0.0.1 (an ephemeral port) for the life of the object
// and stops it in the destructor. POSIX only (fork/exec); the tests that use it skip elsewhere.
// Nothing leaves the machine: the server serves files under `root` only.

#include <string>

#if !defined(_WIN32)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

class LocalHttpServer {
public:
    /// python3 and the script path come from the build (DITSTUDIO_PYTHON3, DITSTUDIO_RANGE_SERVER).
    LocalHttpServer(const std::string &python, const std::string &script, const std::string &root)
    {
#if !defined(_WIN32)
        int fds[2];
        if (pipe(fds) != 0) {
            m_error = "pipe() failed";
            return;
        }
        m_pid = fork();
        if (m_pid == 0) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
            execl(python.c_str(), python.c_str(), script.c_str(), "--root", root.c_str(), "--port", "0",
                  static_cast<char *>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        if (m_pid < 0) {
            close(fds[0]);
            m_error = "fork() failed";
            return;
        }
        // The first line is "PORT <n>" once it listens.
        std::string line;
        char c = 0;
        while (read(fds[0], &c, 1) == 1 && c != '\n')
            line += c;
        close(fds[0]);
        if (line.rfind("PORT ", 0) == 0)
            m_port = std::atoi(line.c_str() + 5);
        if (m_port <= 0)
            m_error = "the test server (" + python + " " + script + ") did not start: '" + line + "'";
#else
        m_error = "the local test server needs POSIX";
#endif
    }

    ~LocalHttpServer()
    {
#if !defined(_WIN32)
        if (m_pid > 0) {
            kill(m_pid, SIGTERM);
            int status = 0;
            waitpid(m_pid, &status, 0);
        }
#endif
    }

    LocalHttpServer(const LocalHttpServer &) = delete;
    LocalHttpServer &operator=(const LocalHttpServer &) = delete;

    bool ok() const
    {
        return m_port > 0;
    }
    const std::string &error() const
    {
        return m_error;
    }
    int port() const
    {
        return m_port;
    }
    /// "http://127.0.0.1:<port>/files/<relative>"
    std::string url(const std::string &relative) const
    {
        return "http://127.0.0.1:" + std::to_string(m_port) + "/files/" + relative;
    }
    std::string logUrl() const
    {
        return "http://127.0.0.1:" + std::to_string(m_port) + "/log";
    }

private:
    int m_port = 0;
    std::string m_error;
#if !defined(_WIN32)
    pid_t m_pid = -1;
#endif
};
