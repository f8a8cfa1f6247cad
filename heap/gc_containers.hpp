#pragma once
// Standard containers whose storage the collector scans (see
// gc_allocator.hpp for what that does and does not guarantee).

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "heap/gc_allocator.hpp"

namespace goro {

template <class T>
using gc_vector = std::vector<T, gc_allocator<T>>;

template <class T>
using gc_deque = std::deque<T, gc_allocator<T>>;

/// Character storage is pointer-free; short strings live inline (SSO).
using gc_string = std::basic_string<char, std::char_traits<char>, gc_allocator<char>>;

template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using gc_unordered_map = std::unordered_map<K, V, Hash, Eq, gc_allocator<std::pair<const K, V>>>;

template <class K, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using gc_unordered_set = std::unordered_set<K, Hash, Eq, gc_allocator<K>>;

template <class K, class V, class Less = std::less<K>>
using gc_map = std::map<K, V, Less, gc_allocator<std::pair<const K, V>>>;

}  // namespace goro
