// Memory and files across fork: MAP_SHARED anonymous memory is shared with the child (writes
// seen both ways) while MAP_PRIVATE memory is copied; a process-shared mutex and condition
// variable in shared memory synchronize parent and child; a pipe carries data from child to
// parent and EOF when the child exits; the child's fd table is a copy whose open files share
// their offsets with the parent's.
#include "tst.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;
	int counter;
};

int main(void)
{
	int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				-1, 0);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	int fds[2], st, fd;
	char buf[64];
	pid_t pid;
	ssize_t n;

	sh[0] = 1;
	pr[0] = 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int ok = sh[0] == 1 && pr[0] == 1;

		sh[0] = 2;
		pr[0] = 2;
		while (sh[1] != 3)
			usleep(1000);
		_exit(ok ? 0 : 1);
	}
	while (sh[0] != 2)
		usleep(1000);
	tst_check(pr[0] == 1, "MAP_PRIVATE: the child's write stays in the child");
	sh[1] = 3;
	waitpid(pid, &st, 0);
	tst_check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "MAP_SHARED: the child saw the parent's data and the parent saw the child's write");

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->lock, &ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_cond_init(&s->cond, &ca);
	s->turn = 0;
	s->counter = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 100; i++) {
			pthread_mutex_lock(&s->lock);
			while (s->turn != 1)
				pthread_cond_wait(&s->cond, &s->lock);
			s->counter++;
			s->turn = 0;
			pthread_cond_signal(&s->cond);
			pthread_mutex_unlock(&s->lock);
		}
		_exit(0);
	}
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&s->lock);
		while (s->turn != 0)
			pthread_cond_wait(&s->cond, &s->lock);
		s->counter++;
		s->turn = 1;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&s->lock);
	while (s->turn != 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	waitpid(pid, &st, 0);
	tst_check(s->counter == 200, "a process-shared mutex and condvar take 200 turns in order");

	pipe(fds);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		write(fds[1], "from the child", 14);
		_exit(0);
	}
	close(fds[1]);
	n = 0;
	for (;;) {
		ssize_t r = read(fds[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += r;
	}
	buf[n] = 0;
	waitpid(pid, &st, 0);
	tst_check(strcmp(buf, "from the child") == 0, "a pipe carries the child's bytes, then EOF");
	close(fds[0]);

	fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/oxv-shared-%d", (int)getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		unlink(path);
	}
	write(fd, "0123456789", 10);
	lseek(fd, 2, SEEK_SET);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char c;

		read(fd, &c, 1);
		_exit(c == '2' ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	tst_check(WEXITSTATUS(st) == 0 && lseek(fd, 0, SEEK_CUR) == 3,
		  "the child's read moved the offset the parent shares");
	close(fd);
	return tst_exit();
}
