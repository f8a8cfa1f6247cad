#pragma once
// goro: a Go-style runtime for C++20. The one header users include.
//
//   goro::task<T>           a lazy coroutine (sched/task.hpp)
//   goro::run(task)         run main as a task on per-core queues (sched/run.hpp)
//   goro::spawn(task)       start a goroutine; join_handle<T> (sched/join_handle.hpp)
//   co_await goro::yield()  Gosched (sched/yield.hpp)
//   goro::set_max_procs, goro::num_cpu   GOMAXPROCS, NumCPU (sched/run.hpp)
//   goro::gc_new<T>, gc_allocator, gc containers   the collected heap (heap/)
//   goro::thread_attachment   lets a thread goro did not start use the heap
//   goro::gc(), free_os_memory(), read_heap_stats()  runtime.GC, MemStats (heap/)
//   goro::gc_pause_log                     every pause, as debug.ReadGCStats' Pause (heap/)
//   goro::set_gc_percent, set_memory_limit  GOGC, GOMEMLIMIT (heap/gc_settings.hpp)
//   goro::on_gc_pressure, gc_pressure()    pressure state (heap/gc_pressure.hpp)
//   co_await goro::blocking(fn)            run a blocking call off the Ps (sched/blocking.hpp)
//   goro::lock_os_thread/unlock_os_thread  LockOSThread (sched/lock_os_thread.hpp)
//   goro::set_max_threads, set_max_stack   SetMaxThreads, SetMaxStack (sched/limits.hpp)
//   goro::write_task_dump, goro::debug::*  task dumps, pprof profiles (debug/)

#include "core/env.hpp"
#include "core/fatal.hpp"
#include "debug/block_profile.hpp"
#include "debug/cpu_profile.hpp"
#include "debug/heap_profile.hpp"
#include "debug/task_dump.hpp"
#include "debug/trace.hpp"
#include "heap/gc.hpp"
#include "heap/gc_allocator.hpp"
#include "heap/gc_containers.hpp"
#include "heap/gc_new.hpp"
#include "heap/gc_pause_log.hpp"
#include "heap/gc_pressure.hpp"
#include "heap/gc_settings.hpp"
#include "heap/heap_stats.hpp"
#include "heap/thread_attachment.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"
#include "net/signal.hpp"
#include "net/tcp.hpp"
#include "sched/blocking.hpp"
#include "sched/chan.hpp"
#include "sched/context.hpp"
#include "sched/join_handle.hpp"
#include "sched/limits.hpp"
#include "sched/lock_os_thread.hpp"
#include "sched/mutex.hpp"
#include "sched/once.hpp"
#include "sched/run.hpp"
#include "sched/runtime_options.hpp"
#include "sched/rw_mutex.hpp"
#include "sched/select.hpp"
#include "sched/semaphore.hpp"
#include "sched/shared_lock.hpp"
#include "sched/task.hpp"
#include "sched/timer.hpp"
#include "sched/unique_lock.hpp"
#include "sched/wait_group.hpp"
#include "sched/yield.hpp"
