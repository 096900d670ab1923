// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title BillAnchor: the head of every record's hash chain (DESIGN section 4.2).
/// @notice Each key (keccak256 of a bill id) has a head: the hash of its last anchored event, zero before
/// the first. `anchor` appends events in order; an entry whose prevHash is not the current head reverts the
/// whole batch, so the chain refuses a fork or a replay of any key's history. The sequence number lives in
/// the hashed event, not here.
contract BillAnchor {
    /// The account that adds and removes anchorers.
    address public owner;
    /// Accounts allowed to call `anchor`.
    mapping(address account => bool allowed) public isAnchorer;
    /// The hash of the last anchored event of each key; zero for a key without events.
    mapping(bytes32 billKey => bytes32 eventHash) public head;

    event Anchored(bytes32 indexed billKey, bytes32 prevHash, bytes32 eventHash);
    event AnchorerAdded(address indexed account);
    event AnchorerRemoved(address indexed account);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error NotAnchorer(address caller);
    error EmptyBatch();
    error LengthMismatch(uint256 billKeys, uint256 prevHashes, uint256 eventHashes);
    /// Entry `index` names `given` as its predecessor, but the key's head is `current`.
    error HeadMismatch(uint256 index, bytes32 billKey, bytes32 current, bytes32 given);
    /// Entry `index` has a zero event hash, or one equal to its predecessor.
    error InvalidEventHash(uint256 index, bytes32 billKey);
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// The deployer owns the contract and is its first anchorer.
    constructor() {
        owner = msg.sender;
        isAnchorer[msg.sender] = true;
        emit OwnershipTransferred(address(0), msg.sender);
        emit AnchorerAdded(msg.sender);
    }

    /// Append one event per entry, in order: entry i moves billKeys[i]'s head from prevHashes[i] to
    /// eventHashes[i]. Several entries of one key may follow each other in one batch.
    function anchor(bytes32[] calldata billKeys, bytes32[] calldata prevHashes, bytes32[] calldata eventHashes)
        external
    {
        if (!isAnchorer[msg.sender]) revert NotAnchorer(msg.sender);
        uint256 n = billKeys.length;
        if (n == 0) revert EmptyBatch();
        if (prevHashes.length != n || eventHashes.length != n) {
            revert LengthMismatch(n, prevHashes.length, eventHashes.length);
        }
        for (uint256 i = 0; i < n; ) {
            bytes32 key = billKeys[i];
            bytes32 current = head[key];
            bytes32 prev = prevHashes[i];
            if (prev != current) revert HeadMismatch(i, key, current, prev);
            bytes32 eventHash = eventHashes[i];
            if (eventHash == bytes32(0) || eventHash == current) revert InvalidEventHash(i, key);
            head[key] = eventHash;
            emit Anchored(key, current, eventHash);
            unchecked {
                ++i;
            }
        }
    }

    function addAnchorer(address account) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        if (!isAnchorer[account]) {
            isAnchorer[account] = true;
            emit AnchorerAdded(account);
        }
    }

    function removeAnchorer(address account) external onlyOwner {
        if (isAnchorer[account]) {
            isAnchorer[account] = false;
            emit AnchorerRemoved(account);
        }
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
